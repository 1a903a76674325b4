"""`sva access ...`: the dashboard's accounts and roots, set by the operator (kept in the index file).

    sva access add-user alice --role admin      # asks for the password twice (or --password-stdin)
    sva access add-user bob --role viewer
    sva access roots /srv/cams /srv/archive     # the folders the dashboard may index and play
    sva access list
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli.app import app
from agent.cli.cli_errors import exit_on_user_error
from agent.cli.commands_index import DbOption
from index.db_path import default_db_path

access_app = typer.Typer(no_args_is_help=True, help="Who may use the dashboard and which folders it may touch.")
app.add_typer(access_app, name="access")


def _store(db: Optional[Path]):
    from index.access import AccessStore

    path = (db or default_db_path()).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return AccessStore(path)


@access_app.command("add-user")
def add_user(
    name: Annotated[str, typer.Argument(help="account name", show_default=False)],
    role: Annotated[str, typer.Option(help="admin (may start indexing) or viewer (reads only)")] = "viewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
    db: DbOption = None,
) -> None:
    """Add a dashboard account (or set an existing one's role and password). Stored as a scrypt hash."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    with exit_on_user_error():
        account = _store(db).add_account(name, role, password)
    typer.echo(f"sva access: {account.name} can sign in as {account.role}")


@access_app.command("remove-user")
def remove_user(name: Annotated[str, typer.Argument(show_default=False)], db: DbOption = None) -> None:
    """Remove a dashboard account; its sessions end at their next page load."""
    with exit_on_user_error():
        found = _store(db).remove_account(name)
    if not found:
        typer.echo(f"sva: no account named {name!r}", err=True)
        raise typer.Exit(2)
    typer.echo(f"sva access: {name} removed")


@access_app.command("roots")
def roots(
    folders: Annotated[Optional[list[Path]], typer.Argument(help="the folders (replacing the list)", show_default=False)] = None,
    clear: Annotated[bool, typer.Option("--clear", help="remove every root (then only 127.0.0.1 may serve)")] = False,
    db: DbOption = None,
) -> None:
    """Set (or, with no folder, show) the folders the dashboard may index and play."""
    with exit_on_user_error():
        store = _store(db)
        current = store.set_roots(folders or []) if folders or clear else store.roots()
    for root in current:
        typer.echo(str(root))
    if not current:
        typer.echo("sva access: no roots: the dashboard serves only on 127.0.0.1, any folder", err=True)


@access_app.command("list")
def list_access(db: DbOption = None) -> None:
    """The accounts (name, role) and the roots."""
    with exit_on_user_error():
        store = _store(db)
        accounts, folders = store.accounts(), store.roots()
    for account in accounts:
        typer.echo(f"account {account.name} {account.role}")
    for root in folders:
        typer.echo(f"root    {root}")
