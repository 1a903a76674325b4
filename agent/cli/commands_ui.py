"""`sva ui`: the Streamlit dashboard (ui/app.py) on a local port, reading the index.

Streamlit runs as a child process (`python -m streamlit run ui/app.py`); the dashboard's settings travel
in its environment (SVA_DB, SVA_MODEL) because Streamlit owns that process's command line. The agent
never imports `ui` (layers import one way: engine <- tools <- index <- agent <- ui): the script is found by its
package's location.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from agent.cli import cli_index_options as opts
from agent.cli.app import app
from agent.cli.cli_errors import exit_on_user_error
from index.db_path import default_db_path
from index.errors import IndexNotFound
from sa2va_engine.user_error import UserError

# Headless: no browser is opened on the server; no usage statistics leave the machine; no file watcher
# (it reruns sessions when sources change and costs inotify handles); exceptions are not detailed in the
# browser (pages show users one-line errors themselves; a bug's traceback goes to this terminal).
_STREAMLIT_FLAGS = (
    "--server.headless=true",
    "--browser.gatherUsageStats=false",
    "--server.fileWatcherType=none",
    "--server.runOnSave=false",
    "--client.showErrorDetails=none",
    "--client.toolbarMode=viewer",
    "--global.developmentMode=false",
)


def app_script() -> Path:
    """ui/app.py of the installed package."""
    spec = importlib.util.find_spec("ui")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the dashboard package `ui` is not installed; reinstall sva (bash install.sh)")
    script = Path(next(iter(spec.submodule_search_locations))) / "app.py"
    if not script.is_file():
        raise UserError(f"the dashboard script {script} is missing; reinstall sva (bash install.sh)")
    return script


def streamlit_command(script: Path, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(script), *_STREAMLIT_FLAGS,
            f"--server.address={host}", f"--server.port={port}"]


def check_exposure(db: Path, host: str, roots: list[Path] | None) -> None:
    """Store `--roots` (the operator's), then refuse to serve beyond loopback without accounts and roots."""
    from index.access import AccessStore, is_loopback

    store = AccessStore(db)
    if roots:
        db.parent.mkdir(parents=True, exist_ok=True)
        store.set_roots(roots)
    if is_loopback(host):
        return
    if not store.accounts():
        raise UserError(f"--host {host} serves beyond this machine and {db} has no dashboard accounts; add one with "
                        f"`sva access add-user NAME --role admin --db {db}` (or serve on 127.0.0.1)")
    if not store.roots():
        raise UserError(f"--host {host} serves beyond this machine and {db} names no roots; name the folders the "
                        "dashboard may index and play with --roots DIR (repeatable)")


def dashboard_env(db: Path, model: str | None, dtype: str | None = None, host: str = "127.0.0.1") -> dict[str, str]:
    env = dict(os.environ)
    env["SVA_DB"] = str(db)
    env["SVA_UI_HOST"] = host
    if model:
        env["SVA_MODEL"] = model
    if dtype:
        env["SVA_DTYPE"] = dtype
    return env


@app.command("ui")
def ui(
    db: Annotated[Path | None, typer.Option(
        "--db", help="index file (default: $SVA_DB, else sva/index.duckdb in the user data dir)")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="checkpoint for verification and chat (hub id or directory; default: $SVA_MODEL, "
                        "else the official one)")] = None,
    revision: opts.Revision = None,
    dtype: opts.Dtype = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to serve on")] = 8501,
    host: Annotated[str, typer.Option("--host", help="address to listen on (0.0.0.0: every interface; beyond "
                                      "127.0.0.1 it needs accounts, `sva access add-user`, and --roots)")] = "127.0.0.1",
    roots: Annotated[list[Path] | None, typer.Option(
        "--roots", help="a folder the dashboard may index and play (repeatable; kept in the index file)")] = None,
) -> None:
    """Serve the dashboard (search, library, video timeline and chat, jobs) in the browser."""
    with exit_on_user_error():
        db_path = (db or default_db_path()).expanduser().absolute()
        if db_path.is_dir():
            raise UserError(f"{db_path} is a folder; --db takes the index file (e.g. {db_path / 'index.duckdb'})")
        script = app_script()
        from tools.engine_session import model_name, parse_dtype

        parse_dtype(dtype)  # a wrong --dtype is said here, not in the browser later
        model = model_name(model, revision) if model or revision else None
        check_exposure(db_path, host, roots)
    if not db_path.exists():
        typer.echo(f"sva: {IndexNotFound(f'no index at {db_path} yet; add a folder on the Library page')}", err=True)
    typer.echo(f"sva ui: http://{host}:{port}  (index {db_path}; Ctrl-C stops)", err=True)
    child = subprocess.Popen(streamlit_command(script, host, port), env=dashboard_env(db_path, model, dtype, host))
    # A service manager stops us with SIGTERM: pass it on, or Streamlit would keep the port.
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        code = child.wait()
    except KeyboardInterrupt:
        # The terminal's Ctrl-C reached Streamlit too; give it a moment to close its sessions.
        try:
            code = child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGTERM)
            code = child.wait()
        raise typer.Exit(130) from None
    raise typer.Exit(code)
