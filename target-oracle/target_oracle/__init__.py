"""Singer target for Oracle (and embedded DuckDB)."""
