"""People's data and the service's monitoring records in one SQL database: SQLAlchemy Core over
SQLite (the default: a file beside the service) or PostgreSQL (when a URL names one, so several
replicas share one history), its schema kept by Alembic's versioned migrations."""
