"""The store's tables as the newest migration leaves them (SQLAlchemy Core). The migrations in
`migrations/versions/` are the schema's history; a test checks that upgrading an empty database
gives exactly these tables, so the two cannot drift apart."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

# A person, without an account: an API profile is known by the hash of its bearer token (the token
# itself is never stored); a local profile (the CLI's --user, on one machine) by a name.
profiles = Table(
    "profiles", metadata,
    Column("id", String(32), primary_key=True),  # random; never derived from the token or the name
    Column("token_hash", String(64), unique=True),
    Column("local_name", Text, unique=True),
    Column("created", Float, nullable=False),
)

# A session this service made: ids, goal and the chosen items with their measures, never text.
sessions = Table(
    "sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("profile_id", String(32), ForeignKey("profiles.id", name="fk_sessions_profile_id_profiles")),
    Column("created", Float, nullable=False),
    Column("goal", Text, nullable=False),
    Column("items", Text, nullable=False),
    Column("timeline", Text),  # item ids and timings, so any worker or replica can render its mix
    Index("sessions_by_profile", "profile_id", "created"),
    Index("sessions_by_time", "created"),
)

feedback = Table(
    "feedback", metadata,
    Column("session_id", String(64), ForeignKey("sessions.id"), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("rating", Integer, CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_1_5")),
    Column("created", Float, nullable=False),
    PrimaryKeyConstraint("session_id", "stage"),
)

# the paper's two study questions, per session
study = Table(
    "study", metadata,
    Column("session_id", String(64), ForeignKey("sessions.id"), primary_key=True),
    Column("reflected", Integer, CheckConstraint("reflected BETWEEN 1 AND 5", name="reflected_1_5")),
    Column("calmer", Integer, CheckConstraint("calmer BETWEEN 1 AND 5", name="calmer_1_5")),
    Column("created", Float, nullable=False),
)

# Monitoring: what was derived from each answer (never what was written), and the ratings given.
records = Table(
    "records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("request_id", Text, nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("session_id", Text),
    Column("language", Text),
    Column("language_confidence", Float),
    Column("length_bucket", Text, nullable=False),
    Column("probabilities", Text),
    Column("labels", Text),
    Column("top_label", Text),
    Column("top_probability", Float),
    Column("risk_level", Text),
    Column("goal", Text),
    Column("stages", Text),
    Column("retrieval_backend", Text),
    Column("latency_ms", Float),
    Column("model_version", Text),
    Column("runtime", Text),
    Index("records_by_time", "time"),
    Index("records_by_session", "session_id"),
)

ratings = Table(
    "ratings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("session_id", Text, nullable=False),
    Column("stage", Text),
    Column("rating", Integer),
    Column("reflected", Integer),
    Column("calmer", Integer),
    Index("ratings_by_time", "time"),
    Index("ratings_by_session", "session_id"),
)

RECORD_COLUMNS = tuple(c.name for c in records.columns if c.name != "id")
RATING_COLUMNS = tuple(c.name for c in ratings.columns if c.name != "id")
