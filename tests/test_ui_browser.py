"""End to end in a real browser: `sva ui` serves an index that `sva index` built with a tiny Sa2VA
checkpoint; headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) asks a question, sees
moment cards, plays one (an H.264 overlay clip the browser can decode), opens the video's timeline, and
takes screenshots. They go to a temp dir; with SVA_SCREENSHOTS=docs they refresh the README's pictures."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Set SVA_SCREENSHOTS=docs to refresh the README's screenshots; by default a test run changes no tracked file.
SCREENSHOTS_ENV = "SVA_SCREENSHOTS"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e .[test]")
if not CHROMIUM.is_file():
    pytest.fail(f"{CHROMIUM} is missing: install.sh installs the Debian packages chromium and chromium-driver",
                pytrace=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sva(*args: str) -> list[str]:
    return [sys.executable, "-m", "agent.cli", *args]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, shared_videos):
    """An index of 01_dog.mp4 made by `sva index` with a tiny random checkpoint that sees objects, kept
    small (one 10 s chunk, frames at 0.5 fps) so the run takes seconds on a CPU."""
    from sa2va_engine.testing.tiny_checkpoint import write_tiny_checkpoint

    root = tmp_path_factory.mktemp("ui_browser")
    model = write_tiny_checkpoint(root / "tiny", "qwen3_vl", seed=0, objects_present=True)
    db = root / "index.duckdb"
    run = subprocess.run(
        _sva("index", str(shared_videos / "01_dog.mp4"), "--db", str(db), "--model", str(model),
             "--watch", "the dog", "--chunk-s", "10", "--sample-fps", "0.5", "--max-side", "256",
             "--no-caption", "--no-ground", "--no-describe"),
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return root, db, model


@contextmanager
def _serving(root: Path, *args: str):
    """`sva ui ARGS` on a free port; yields its URL (on 127.0.0.1) and stops it (its process group) afterwards."""
    port = _free_port()
    env = dict(os.environ, SVA_CACHE_DIR=str(root / "cache"))
    log_path = root / f"ui-{port}.log"
    with open(log_path, "wb") as log:
        # its own session, so the fixture can stop `sva ui` and its Streamlit child as one group
        server = subprocess.Popen(_sva("ui", *args, "--port", str(port)), cwd=REPO, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log_path.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "sva ui did not come up in 90 s"
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # `sva ui` and its Streamlit child
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="module")
def served(indexed):
    """`sva ui` on a free localhost port, no accounts (a local single user)."""
    root, db, model = indexed
    with _serving(root, "--db", str(db), "--model", str(model), "--host", "127.0.0.1") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.inner_text("body")[:2000]
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, page.inner_text("body")[:2000]


def test_search_play_and_timeline_in_chromium(served, browser, tmp_path):
    shots = REPO / os.environ[SCREENSHOTS_ENV] if os.environ.get(SCREENSHOTS_ENV) else tmp_path
    # tall enough for the open moment and the cards below it (Streamlit scrolls inside the page, not the page)
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.set_default_timeout(60_000)
    page.goto(served)
    question = page.get_by_label("Question")
    question.wait_for()
    # Retrieval only: verifying with random weights proves nothing a browser needs to see (AppTest covers it).
    page.get_by_text("Verify with Sa2VA").click()
    assert not page.get_by_role("switch", name="Verify with Sa2VA").or_(
        page.get_by_role("checkbox", name="Verify with Sa2VA")).is_checked()
    question.fill("every moment the dog plays")
    page.get_by_role("button", name="Search").click()

    play = page.get_by_role("button", name="Play").first
    play.wait_for()
    body = page.inner_text("body")
    assert "retrieval only" in body and "01_dog.mp4" in body
    thumbnail = page.locator('[data-testid="stImage"] img').first
    thumbnail.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    _no_exception(page)

    play.click()
    video = page.locator("video").first
    video.wait_for()
    # the overlay clip is H.264: Chromium must be able to load it, not just show an empty player
    page.wait_for_function("v => v.readyState >= 1 && !v.error", arg=video.element_handle(), timeout=60_000)
    assert page.evaluate("v => v.duration", video.element_handle()) > 1.0
    _no_exception(page)
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "ui-search.png"), full_page=True)

    page.get_by_role("link", name="Timeline, captions and chat for this video").click()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    page.get_by_text("the dog").first.wait_for()
    _no_exception(page)
    page.screenshot(path=str(shots / "ui-video.png"), full_page=True)
    assert (shots / "ui-search.png").stat().st_size > 10_000
    page.close()


def test_beyond_loopback_every_page_asks_for_sign_in_and_a_viewer_cannot_index(indexed, browser, shared_videos):
    """`sva ui --host 0.0.0.0` with accounts and roots: no page renders before sign-in (also when the address
    names a page), a wrong password is refused, a viewer reads but gets no "Add a folder"."""
    import shutil

    root, db, model = indexed
    guarded = root / "guarded.duckdb"
    shutil.copy(db, guarded)
    for name, role in (("ana", "admin"), ("vic", "viewer")):
        added = subprocess.run(_sva("access", "add-user", name, "--role", role, "--password-stdin", "--db", str(guarded)),
                               input="correct horse battery\n", cwd=REPO, capture_output=True, text=True, timeout=120)
        assert added.returncode == 0, added.stderr
    with _serving(root, "--db", str(guarded), "--model", str(model), "--host", "0.0.0.0",
                  "--roots", str(shared_videos)) as url:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(60_000)
        for address in (url, f"{url}/library", f"{url}/video?video=1"):
            page.goto(address)
            page.get_by_role("button", name="Sign in").wait_for()
            body = page.inner_text("body")
            assert "Question" not in body and "01_dog.mp4" not in body and "Add a folder" not in body
        page.get_by_label("Account").fill("vic")
        page.get_by_role("textbox", name="Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Wrong account name or password.").wait_for()
        page.get_by_label("Account").fill("vic")
        page.get_by_role("textbox", name="Password").fill("correct horse battery")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Question").wait_for()
        assert "Signed in as vic (viewer)" in page.inner_text("body")
        page.get_by_role("link", name="Library").click()
        page.get_by_role("heading", name="Library").wait_for()
        page.get_by_text("an admin starts indexing").wait_for()
        page.get_by_role("heading", name="Add a folder").wait_for()  # the section is there, the form is not
        assert page.get_by_role("button", name="Index this folder").count() == 0
        _no_exception(page)
        page.close()
