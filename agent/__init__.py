"""The graphs and the command line: indexing (`indexing/`), answering questions (`query/`), scheduled runs
(`schedule/`), the demo (`demo/`) and the `sva` CLI (`cli/`); at the top, the defaults every run shares with
the dashboard (`run_settings.py`) and `sva doctor`'s checks (`doctor.py`)."""
