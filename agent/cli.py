"""The `sva` command line. Each command group lives in its own `agent/commands_*.py` module and
registers itself on `app`; this file only wires them and turns user errors into exit codes.

Exit codes: 0 ok, 1 partial (some inputs failed, each named), 2 usage or input error.
"""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Video analytics on Sa2VA.")

# Modules that attach commands to `app`; a module that does not exist yet is simply not wired.
_COMMAND_MODULES = (
    "agent.commands_doctor",
    "agent.commands_probe",
    "agent.commands_engine",
    "agent.commands_index",
    "agent.commands_export",
    "agent.commands_backup",
    "agent.commands_ui",
    "agent.commands_access",
    "agent.commands_schedule",
    "agent.commands_demo",
    "agent.commands_train",
)

for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # only a missing command module is tolerated, not a broken one
        if exc.name != _name:
            raise


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        print("sva: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    # Run through the importable module so commands registered on `agent.cli.app` are the ones used.
    from agent.cli import main as _main

    _main()
