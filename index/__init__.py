"""The one DuckDB file everything reads and writes: see index/README.md."""
