"""The dashboard's door (#25): accounts with hashed passwords and roles, roots every served or indexed path must
resolve inside, `sva ui` refusing to serve beyond loopback without them, and the pages behind the sign-in.
The real browser check is tests/test_ui_browser.py::test_beyond_loopback_every_page_asks_for_sign_in_and_a_viewer_cannot_index."""

from __future__ import annotations

import logging
import shutil

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from agent.cli.main import app
from index.access import AccessError, AccessStore, Account, inside_roots, is_loopback
from tests.agent_fixtures import REPO, run_sva
from tests.ui_fixtures import build_ui_index

APP = str(REPO / "ui" / "app.py")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def ui_index(tmp_path_factory, shared_videos):
    return build_ui_index(tmp_path_factory.mktemp("access_index"), shared_videos)


@pytest.fixture
def guarded(ui_index, tmp_path):
    """A copy of the dashboard index with an admin and a viewer."""
    db = tmp_path / "guarded.duckdb"
    shutil.copy(ui_index.db, db)
    store = AccessStore(db)
    store.add_account("ana", "admin", PASSWORD)
    store.add_account("vic", "viewer", PASSWORD)
    return db


def test_passwords_are_stored_as_scrypt_hashes_and_checked(guarded):
    store = AccessStore(guarded)
    for file in guarded.parent.glob(guarded.name + "*"):  # the index and any WAL beside it
        assert PASSWORD.encode() not in file.read_bytes()
    assert store.sign_in("ana", PASSWORD) == Account(name="ana", role="admin")
    assert store.sign_in("vic", PASSWORD) == Account(name="vic", role="viewer")
    assert store.sign_in("ana", PASSWORD + "x") is None and store.sign_in("nobody", PASSWORD) is None
    store.add_account("vic", "admin", "another password")  # a new role and password replace the old ones
    assert store.sign_in("vic", PASSWORD) is None and store.sign_in("vic", "another password").role == "admin"
    assert [a.name for a in store.accounts()] == ["ana", "vic"]
    for name, role, password, says in (("a b", "admin", PASSWORD, "account name"), ("x", "root", PASSWORD, "role"),
                                       ("x", "viewer", "short", "at least 8")):
        with pytest.raises(AccessError, match=says):
            store.add_account(name, role, password)
    assert store.remove_account("vic") and not store.remove_account("vic")


def test_roots_follow_symlinks(tmp_path):
    inside, outside = tmp_path / "cams", tmp_path / "private"
    inside.mkdir(), outside.mkdir()
    (outside / "secret.mp4").write_bytes(b"x")
    (inside / "escape").symlink_to(outside, target_is_directory=True)
    (inside / "a.mp4").write_bytes(b"x")
    store = AccessStore(tmp_path / "i.duckdb")
    roots = store.set_roots([inside, inside / "."])
    assert roots == [inside.resolve()] and store.roots() == roots
    assert inside_roots(inside / "a.mp4", roots) and inside_roots(inside, roots)
    assert not inside_roots(inside / "escape" / "secret.mp4", roots), "a link inside a root that leads out is out"
    assert not inside_roots(inside / ".." / "private" / "secret.mp4", roots)
    assert not inside_roots(tmp_path / "cams-other" / "a.mp4", roots), "a prefix of the name is not a parent"
    with pytest.raises(AccessError, match="not a folder"):
        store.set_roots([tmp_path / "missing"])


def test_loopback_hosts():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "cams.example.org"))


def test_sva_access_commands(tmp_path):
    db = str(tmp_path / "i.duckdb")
    runner = CliRunner()
    added = runner.invoke(app, ["access", "add-user", "ana", "--role", "admin", "--password-stdin", "--db", db],
                          input=PASSWORD + "\n")
    assert added.exit_code == 0 and "ana can sign in as admin" in added.output
    short = runner.invoke(app, ["access", "add-user", "bo", "--password-stdin", "--db", db], input="short\n")
    assert short.exit_code == 2 and "at least 8" in short.output
    assert runner.invoke(app, ["access", "roots", str(tmp_path), "--db", db]).exit_code == 0
    listed = runner.invoke(app, ["access", "list", "--db", db])
    assert listed.output.splitlines() == ["account ana admin", f"root    {tmp_path.resolve()}"]
    gone = runner.invoke(app, ["access", "remove-user", "nobody", "--db", db])
    assert gone.exit_code == 2 and "no account named 'nobody'" in gone.output


def test_sva_ui_beyond_loopback_needs_accounts_and_roots(tmp_path, shared_videos):
    db = tmp_path / "i.duckdb"
    no_accounts = run_sva("ui", "--db", str(db), "--host", "0.0.0.0", timeout=60)
    assert no_accounts.returncode == 2 and no_accounts.stderr.count("\n") == 1
    assert "has no dashboard accounts" in no_accounts.stderr and "sva access add-user" in no_accounts.stderr
    AccessStore(db).add_account("ana", "admin", PASSWORD)
    no_roots = run_sva("ui", "--db", str(db), "--host", "192.0.2.1", timeout=60)
    assert no_roots.returncode == 2 and "names no roots" in no_roots.stderr and "--roots" in no_roots.stderr
    bad_root = run_sva("ui", "--db", str(db), "--host", "0.0.0.0", "--roots", str(tmp_path / "nope"), timeout=60)
    assert bad_root.returncode == 2 and "not a folder" in bad_root.stderr
    assert AccessStore(db).roots() == []


def _dashboard(monkeypatch, tmp_path, db, host="0.0.0.0", account: Account | None = None) -> AppTest:
    monkeypatch.setenv("SVA_DB", str(db))
    monkeypatch.setenv("SVA_UI_HOST", host)
    monkeypatch.setenv("SVA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SVA_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=90)
    if account is not None:  # a session already signed in
        at.session_state["sva_account"] = account
    return at.run()


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.button[0].click()
    return at.run()


def test_no_page_renders_before_sign_in_and_a_wrong_password_is_logged(guarded, monkeypatch, tmp_path, caplog):
    at = _dashboard(monkeypatch, tmp_path, guarded)
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Account", "Password"], "only the sign-in form"
    with caplog.at_level(logging.WARNING, logger="sva.access"):
        at = _sign_in(at, "ana", "guess")
    assert [e.value for e in at.error] == ["Wrong account name or password."]
    assert any("failed sign-in for account 'ana'" in r.getMessage() for r in caplog.records)
    at = _sign_in(at, "ana", PASSWORD)
    assert not at.exception and [t.label for t in at.text_input] == ["Question"], "the Search page"
    assert any("Signed in as **ana** (admin)" in c.value for c in at.sidebar.caption)


def test_a_page_run_alone_is_behind_the_door_too(guarded, monkeypatch, tmp_path):
    monkeypatch.setenv("SVA_DB", str(guarded))
    monkeypatch.setenv("SVA_UI_HOST", "127.0.0.1")  # accounts exist: sign-in is needed on loopback as well
    at = AppTest.from_file(str(REPO / "ui" / "page_library.py"), default_timeout=90).run()
    assert [t.label for t in at.text_input] == ["Account", "Password"] and not at.dataframe


def test_without_accounts_beyond_loopback_nothing_renders(ui_index, monkeypatch, tmp_path):
    at = _dashboard(monkeypatch, tmp_path, ui_index.db)
    assert "has no accounts" in at.error[0].value and not at.text_input


def _library_as(account: Account, monkeypatch, tmp_path, db) -> AppTest:
    return _dashboard(monkeypatch, tmp_path, db, account=account).switch_page("page_library.py").run()


def test_a_viewer_gets_no_add_folder_form_and_an_admin_only_inside_the_roots(guarded, monkeypatch, tmp_path,
                                                                           shared_videos, caplog):
    viewer = _library_as(Account(name="vic", role="viewer"), monkeypatch, tmp_path, guarded)
    assert not viewer.exception and not viewer.text_input
    assert any("an admin starts indexing" in c.value for c in viewer.caption)
    AccessStore(guarded).set_roots([shared_videos])
    admin = _library_as(Account(name="ana", role="admin"), monkeypatch, tmp_path, guarded)
    assert [t.label for t in admin.text_input][:1] == ["Folder on this machine"]
    admin.text_input[0].input(str(tmp_path))  # a real folder, outside the roots
    with caplog.at_level(logging.WARNING, logger="sva.access"):
        admin.button[0].click()
        admin = admin.run()
    assert any("outside the folders this dashboard may index" in e.value for e in admin.error)
    assert any("refused: folder" in r.getMessage() for r in caplog.records)
    assert not any(s.value.startswith("Indexing") for s in admin.success)


def test_a_video_outside_the_roots_is_not_served(guarded, ui_index, monkeypatch, tmp_path, caplog):
    import duckdb

    with duckdb.connect(str(guarded), read_only=True) as con:
        dog_id = con.execute("SELECT video_id FROM videos WHERE path = ?", [ui_index.dog]).fetchone()[0]
    AccessStore(guarded).set_roots([tmp_path])  # the shared videos are elsewhere
    at = _dashboard(monkeypatch, tmp_path, guarded, account=Account(name="vic", role="viewer"))
    at.switch_page("page_video.py").run()
    at.query_params["video"] = str(dog_id)
    with caplog.at_level(logging.WARNING, logger="sva.access"):
        at.run()
    assert not at.exception
    assert any("01_dog.mp4 is outside the folders this dashboard may serve" in e.value for e in at.error)
    assert any("refused: video" in r.getMessage() for r in caplog.records)
