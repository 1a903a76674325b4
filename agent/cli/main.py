"""The `sva` command line's entry point (`sva`, `python -m agent.cli`). Each command group lives in its own
`agent/cli/commands_*.py` module and registers itself on `app` (agent/cli/app.py); this file only wires them
and turns an interrupt into its exit code.

Exit codes: 0 ok, 1 partial (some inputs failed, each named), 2 usage or input error.
"""

from __future__ import annotations

import sys

# Imported for their effect: each registers its commands on `app`.
from agent.cli import (  # noqa: F401
    commands_access,
    commands_backup,
    commands_demo,
    commands_doctor,
    commands_engine,
    commands_export,
    commands_index,
    commands_probe,
    commands_schedule,
    commands_train,
    commands_ui,
)
from agent.cli.app import app


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        print("sva: interrupted", file=sys.stderr)
        sys.exit(130)
