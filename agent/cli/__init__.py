"""The `sva` command line: the app (`app.py`), its entry point (`main.py`, also `python -m agent.cli`), one
module per command group (`commands_*.py`), and the parts they share (user errors to exit codes, progress
bars, the indexing flags)."""
