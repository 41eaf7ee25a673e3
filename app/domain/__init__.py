"""Business rules: plain functions over a SQLAlchemy session, callable from requests, jobs, CLI and tests."""
