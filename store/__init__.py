"""Persistence: the SQL store (SQLAlchemy 2, SQLite or PostgreSQL) and the write-once archive."""
