"""The one `typer` app of the `sva` command line; each `agent/cli/commands_*.py` module registers its commands
on it, and `agent/cli/main.py` imports them all and runs it."""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Video analytics on Sa2VA.")
