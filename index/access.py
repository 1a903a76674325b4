"""Who may use the dashboard and what it may touch, kept in the index file (tables `access_accounts`,
`access_roots`; schema v7).

Accounts have a name, a role (`admin` may start indexing from the dashboard, `viewer` only reads) and a scrypt
hash of their password (hashlib.scrypt, N=2^14, r=8, p=1, a random 16-byte salt per account): the file never
holds a password, and comparing uses hmac.compare_digest. Roots are folders, stored resolved (symlinks
followed); a path is inside the roots when it resolves (symlinks followed) to a root or below one, so a link
inside a root that points outside it is outside.

Accounts and roots are written by the operator's commands (`sva access`, `sva ui --roots`) through the
index's write transactions and read by the dashboard through read-only connections.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from index.connection import open_read, write_transaction
from sa2va_engine.user_error import UserError

Role = Literal["admin", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "viewer")
MIN_PASSWORD_CHARS = 8
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class AccessError(UserError):
    """An account or root the operator gave cannot be used as given."""


class Account(BaseModel):
    name: str
    role: Role

    @property
    def may_index(self) -> bool:
        return self.role == "admin"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    encode = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${encode(salt).decode()}${encode(digest).decode()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return kind == "scrypt" and hmac.compare_digest(got, expected)


def inside_roots(path: str | Path, roots: list[Path]) -> bool:
    """Whether `path`, symlinks followed, is one of `roots` or below one (roots are stored resolved)."""
    try:
        resolved = Path(path).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return any(resolved == root or resolved.is_relative_to(root) for root in roots)


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name that may resolve to anything: treated as beyond this machine


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class AccessStore:
    def __init__(self, db: str | Path):
        self.db = Path(db)

    # ---- accounts ----
    def add_account(self, name: str, role: str, password: str) -> Account:
        """Add `name`, or give an existing account this role and password."""
        if not _NAME.fullmatch(name):
            raise AccessError(f"account name {name[:40]!r}: use 1-64 letters, digits, '.', '_', '@' or '-', "
                              "starting with a letter or digit")
        if role not in ROLES:
            raise AccessError(f"role {role!r}: use admin (may start indexing) or viewer (reads only)")
        if len(password) < MIN_PASSWORD_CHARS:
            raise AccessError(f"the password for {name} is {len(password)} characters; use at least {MIN_PASSWORD_CHARS}")
        with write_transaction(self.db) as con:
            con.execute("DELETE FROM access_accounts WHERE name = ?", [name])
            con.execute("INSERT INTO access_accounts VALUES (?, ?, ?, ?)", [name, role, hash_password(password), _now()])
        return Account(name=name, role=role)

    def remove_account(self, name: str) -> bool:
        with write_transaction(self.db) as con:
            found = con.execute("SELECT count(*) FROM access_accounts WHERE name = ?", [name]).fetchone()[0]
            con.execute("DELETE FROM access_accounts WHERE name = ?", [name])
        return bool(found)

    def accounts(self) -> list[Account]:
        if not self.db.exists():
            return []
        with open_read(self.db) as con:
            rows = con.execute("SELECT name, role FROM access_accounts ORDER BY name").fetchall()
        return [Account(name=n, role=r) for n, r in rows]

    def sign_in(self, name: str, password: str) -> Account | None:
        """The account when the password is its own, else None (unknown names cost the same hashing)."""
        if not self.db.exists():
            return None
        with open_read(self.db) as con:
            row = con.execute("SELECT role, password_hash FROM access_accounts WHERE name = ?", [name]).fetchone()
        stored = row[1] if row else hash_password(secrets.token_hex(8))
        if password_matches(password, stored) and row is not None:
            return Account(name=name, role=row[0])
        return None

    # ---- roots ----
    def set_roots(self, folders: list[str | Path]) -> list[Path]:
        """Replace the roots with `folders` (each an existing folder; stored resolved)."""
        resolved = []
        for folder in folders:
            path = Path(folder).expanduser()
            if not path.is_dir():
                raise AccessError(f"{folder}: not a folder; --roots takes the folders the dashboard may index and play")
            resolved.append(path.resolve())
        with write_transaction(self.db) as con:
            con.execute("DELETE FROM access_roots")
            for path in dict.fromkeys(resolved):
                con.execute("INSERT INTO access_roots VALUES (?, ?)", [str(path), _now()])
        return list(dict.fromkeys(resolved))

    def roots(self) -> list[Path]:
        if not self.db.exists():
            return []
        with open_read(self.db) as con:
            return [Path(p) for (p,) in con.execute("SELECT path FROM access_roots ORDER BY path").fetchall()]
