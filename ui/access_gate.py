"""The dashboard's door: sign-in before any page renders, the signed-in account's role, and the roots every file
it serves or indexes must resolve inside (index/access.py holds the accounts and roots).

With no account in the index the dashboard is a single user's local tool: on 127.0.0.1 everyone is an admin
and any indexed file is served. `sva ui` refuses to serve beyond loopback without accounts and roots, and the
gate refuses too if it ever finds itself there without them. Refusals are logged (logger `sva.access`, on the
`sva ui` terminal): failed sign-ins, files outside the roots, a viewer trying to index.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import duckdb
import streamlit as st

from index.access import Account, AccessStore, inside_roots, is_loopback
from sa2va_engine.settings import settings
from sa2va_engine.user_error import UserError
from ui.dashboard_config import dashboard_config
from ui.user_errors import DashboardError, describe

log = logging.getLogger("sva.access")
LOCAL_ADMIN = Account(name="local", role="admin")
_SESSION_KEY = "sva_account"
FAILED_SIGN_IN_DELAY_S = 1.0  # slows guessing; scrypt already costs ~50 ms a try


def _host() -> str:
    return settings().ui_host


def signed_in() -> Account:
    """The account of this browser session; renders the sign-in form and stops the script until there is one."""
    db = dashboard_config().db
    store = AccessStore(db)
    try:
        accounts = store.accounts()
    except (UserError, duckdb.Error, OSError) as exc:
        if is_loopback(_host()):
            return LOCAL_ADMIN  # nothing to protect but an unreadable file: the page says what is wrong with it
        st.error(describe(exc, db), icon=":material/error:")  # beyond loopback no one is let in without accounts
        st.stop()
    if not accounts:
        if is_loopback(_host()):
            return LOCAL_ADMIN
        st.error("This dashboard serves beyond this machine and has no accounts; the operator adds one with "
                 "`sva access add-user NAME --role admin`.")
        st.stop()
    current = st.session_state.get(_SESSION_KEY)
    if current is not None and current in accounts:  # still there, with the same role
        return current
    st.session_state.pop(_SESSION_KEY, None)
    _sign_in_form(store)
    st.stop()


def _sign_in_form(store: AccessStore) -> None:
    st.title("sva")
    with st.form("sign-in"):
        name = st.text_input("Account")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    account = store.sign_in(name.strip(), password)
    if account is None:
        log.warning("refused: failed sign-in for account %r", name[:64])
        time.sleep(FAILED_SIGN_IN_DELAY_S)
        st.error("Wrong account name or password.")
        return
    log.info("signed in: %s (%s)", account.name, account.role)
    st.session_state[_SESSION_KEY] = account
    st.rerun()


def sign_out_button(account: Account) -> None:
    if account == LOCAL_ADMIN:
        return
    st.sidebar.caption(f"Signed in as **{account.name}** ({account.role})")
    if st.sidebar.button("Sign out"):
        st.session_state.pop(_SESSION_KEY, None)
        st.rerun()


def roots() -> list[Path]:
    return AccessStore(dashboard_config().db).roots()


def check_inside_roots(path: str | Path, what: str) -> None:
    """Refuse (and log) a file or folder outside the operator's roots; no roots is only allowed on loopback."""
    allowed = roots()
    if not allowed and is_loopback(_host()):
        return
    if not inside_roots(path, allowed):
        log.warning("refused: %s %s is outside the roots %s", what, path, [str(r) for r in allowed])
        raise DashboardError(f"{Path(path).name or path} is outside the folders this dashboard may {what_verb(what)}; "
                             "the operator names them with `sva ui --roots`")


def what_verb(what: str) -> str:
    return "index" if what == "folder" else "serve"


def check_may_index(account: Account) -> None:
    if not account.may_index:
        log.warning("refused: viewer %s tried to start indexing", account.name)
        raise DashboardError(f"{account.name} is a viewer; only an admin may start indexing")
