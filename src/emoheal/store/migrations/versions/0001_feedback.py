"""The feedback store as it was before Alembic (its own numbered migrations 1-3): users, sessions
(ids, goal, chosen items, timeline; never text), per-stage ratings, the two study questions.
A store written by that code is stamped at this revision instead of running it.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("users", sa.Column("id", sa.Text, primary_key=True), sa.Column("created", sa.Float, nullable=False))
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Text, sa.ForeignKey("users.id", name="fk_sessions_user_id_users")),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("goal", sa.Text, nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("timeline", sa.Text),
    )
    op.create_index("sessions_by_user", "sessions", ["user_id", "created"])
    op.create_table(
        "feedback",
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("rating", sa.Integer, sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5",
                                                           name="rating_1_5")),
        sa.Column("created", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("session_id", "stage"),
    )
    op.create_table(
        "study",
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id"), primary_key=True),
        sa.Column("reflected", sa.Integer, sa.CheckConstraint("reflected BETWEEN 1 AND 5", name="reflected_1_5")),
        sa.Column("calmer", sa.Integer, sa.CheckConstraint("calmer BETWEEN 1 AND 5", name="calmer_1_5")),
        sa.Column("created", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("study", "feedback", "sessions", "users"):
        op.drop_table(table)
