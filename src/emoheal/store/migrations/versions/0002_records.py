"""Monitoring records and ratings move into the store (they were a second SQLite file), so every
replica of the service writes to one place and `emoheal monitor` sees all the traffic.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("session_id", sa.Text),
        sa.Column("language", sa.Text),
        sa.Column("language_confidence", sa.Float),
        sa.Column("length_bucket", sa.Text, nullable=False),
        sa.Column("probabilities", sa.Text),
        sa.Column("labels", sa.Text),
        sa.Column("top_label", sa.Text),
        sa.Column("top_probability", sa.Float),
        sa.Column("risk_level", sa.Text),
        sa.Column("goal", sa.Text),
        sa.Column("stages", sa.Text),
        sa.Column("retrieval_backend", sa.Text),
        sa.Column("latency_ms", sa.Float),
        sa.Column("model_version", sa.Text),
        sa.Column("runtime", sa.Text),
    )
    op.create_index("records_by_time", "records", ["time"])
    op.create_index("records_by_session", "records", ["session_id"])
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("session_id", sa.Text, nullable=False),
        sa.Column("stage", sa.Text),
        sa.Column("rating", sa.Integer),
        sa.Column("reflected", sa.Integer),
        sa.Column("calmer", sa.Integer),
    )
    op.create_index("ratings_by_time", "ratings", ["time"])
    op.create_index("ratings_by_session", "ratings", ["session_id"])


def downgrade() -> None:
    op.drop_table("ratings")
    op.drop_table("records")
