"""SQL adapters (SQLAlchemy Core) for PostgreSQL and SQLite."""
