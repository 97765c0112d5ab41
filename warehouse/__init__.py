"""The SQL store: tables, engine, demo data and ingest. Imports nothing else of the project."""
