"""Database access: one engine per process, migrations, bulk COPY, and one module per table group."""
