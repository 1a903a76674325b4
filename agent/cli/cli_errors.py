"""How every `sva` command reports an error the user caused: one `sva: ...` line on stderr, its exit code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from sa2va_engine.user_error import UserError


def report(exc: UserError) -> None:
    typer.echo(f"sva: {exc}", err=True)


@contextmanager
def exit_on_user_error() -> Iterator[None]:
    try:
        yield
    except UserError as exc:
        report(exc)
        raise typer.Exit(exc.exit_code) from None
