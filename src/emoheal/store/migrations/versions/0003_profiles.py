"""Identity without accounts: `profiles` replace the client-chosen `users`. An API profile is
known by the sha256 of its bearer token; the names the old store held become local profiles (the
CLI's --user on one machine), their sessions kept and linked by a new random profile id.

Revision ID: 0003
Revises: 0002
"""

import secrets
import time

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
# names for the constraints SQLite left unnamed, so batch mode can drop the one to `users`
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    profiles = op.create_table(
        "profiles",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), unique=True),
        sa.Column("local_name", sa.Text, unique=True),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.add_column("sessions", sa.Column("profile_id", sa.String(32)))
    bind = op.get_bind()
    for name, created in bind.execute(sa.text("SELECT id, created FROM users")).all():
        profile = secrets.token_hex(16)
        bind.execute(profiles.insert().values(id=profile, local_name=name, created=created or time.time()))
        bind.execute(sa.text("UPDATE sessions SET profile_id = :p WHERE user_id = :u"), {"p": profile, "u": name})
    op.drop_index("sessions_by_user", table_name="sessions")
    with op.batch_alter_table("sessions", naming_convention=NAMING) as batch:
        batch.drop_constraint("fk_sessions_user_id_users", type_="foreignkey")
        batch.drop_column("user_id")
        batch.create_foreign_key("fk_sessions_profile_id_profiles", "profiles", ["profile_id"], ["id"])
    op.create_index("sessions_by_profile", "sessions", ["profile_id", "created"])
    op.create_index("sessions_by_time", "sessions", ["created"])
    op.drop_table("users")
    op.execute("DROP TABLE IF EXISTS schema_version")  # the pre-Alembic store's own version table


def downgrade() -> None:
    raise NotImplementedError("profiles cannot become client-chosen names again: restore a backup instead")
