"""The dashboard's pages under Streamlit's AppTest (the real scripts, in-process, no browser) against a
small index over the shared videos (tests/ui_fixtures.py): search with retrieval-only then verified
answers, playing a moment's overlay clip, the library's states, starting an indexer in the background, the
video page's timeline, captions, objects and chat, jobs, and one-line errors for what users can break."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.index_fixtures import make_video_file
from tests.ui_fixtures import DOG_CHUNKS, build_short_index, build_ui_index

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "ui" / "app.py"
ASK = "FormSubmitter:ask-Search"


@pytest.fixture(scope="module")
def ui_index(tmp_path_factory, shared_videos):
    return build_ui_index(tmp_path_factory.mktemp("ui_index"), shared_videos)


@pytest.fixture
def dashboard(monkeypatch, tmp_path):
    """open(db, page=None, model=None, query=None) -> an AppTest that has run the page once."""

    def open_(db, page: str | None = None, model: str | Path | None = None, query: dict | None = None) -> AppTest:
        monkeypatch.setenv("SVA_DB", str(db))
        monkeypatch.setenv("SVA_CACHE_DIR", str(tmp_path / "cache"))
        if model is None:
            monkeypatch.delenv("SVA_MODEL", raising=False)
        else:
            monkeypatch.setenv("SVA_MODEL", str(model))
        at = AppTest.from_file(str(APP), default_timeout=90)
        at.run()
        if page is not None:
            at.switch_page(page).run()
        if query:  # after the switch: moving to another page starts with an empty address
            at.query_params.update(query)
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def one_line_errors(at: AppTest) -> list[str]:
    errors = texts(at.error)
    assert all("\n" not in e and "Traceback" not in e for e in errors), errors
    return errors


def ask(at: AppTest, question: str, verify: bool) -> AppTest:
    at.toggle[0].set_value(verify)
    at.text_input[0].input(question)
    at.button(key=ASK).click()
    return at.run()


# ---- search ---------------------------------------------------------------------------------------------


def test_search_shows_retrieval_moments_as_cards_and_plays_one(dashboard, ui_index, tmp_path):
    # Not an event kind: retrieval (without the model) finds the chunks where the dog is.
    at = ask(dashboard(ui_index.db), "every moment the dog plays", verify=False)
    assert not at.exception
    assert "retrieval only" in at.markdown[0].value
    cards = [m for m in texts(at.markdown) if m.startswith("**") and "score" in m]
    assert cards and cards[0].startswith("**01_dog.mp4**"), cards
    assert len(at.get("image")) >= 2  # thumbnails with masks, rendered into the cache
    assert list((tmp_path / "cache" / "thumbs").glob("*.png"))
    # the copy of the ping-pong video was deleted after indexing: its card says so in one line
    assert any("has moved or been deleted" in e for e in one_line_errors(at))

    at.button(key="moment-retrieved-0").click().run()
    assert not at.exception
    assert at.subheader[0].value.startswith("01_dog.mp4")
    players = at.get("video")
    assert len(players) == 1 and players[0].proto.autoplay
    clips = list((tmp_path / "cache" / "clips").glob("*.mp4"))
    assert len(clips) == 1
    from tools.video_prober import probe_video

    probe = probe_video(clips[0])
    assert probe.codec == "h264" and probe.duration_s > 1.0

    at.button(key="search-close").click().run()
    assert not at.get("video")


def _one_dog_jump(source: Path, tmp_path: Path) -> Path:
    """A copy of the index whose only stored event is one jump of the brown dog, 2-3 s into 01_dog.mp4."""
    import shutil

    from index.connection import write_transaction

    db = tmp_path / "events.duckdb"
    shutil.copy(source, db)
    with write_transaction(db, 30) as con:
        video_id, object_id = con.execute("SELECT video_id, object_id FROM objects WHERE label = 'a brown dog' "
                                          "ORDER BY object_id LIMIT 1").fetchone()
        con.execute("DELETE FROM events")
        con.execute("INSERT INTO events VALUES (?, ?, NULL, 'jump', 2.0, 3.0, 0.9, [2.0, 2.5, 3.0], 'test rule', 1.5)",
                    [video_id, object_id])
    return db


def test_an_event_question_is_answered_from_stored_events_as_the_cli_does(dashboard, ui_index, tmp_path):
    """The dashboard builds its query like `sva query` (agent/run_settings.py): a jump of the dog stored in the
    events table is the answer at once, with no model."""
    from agent.query.query_graph import run_query
    from agent.run_settings import query_settings

    db = _one_dog_jump(ui_index.db, tmp_path)
    at = ask(dashboard(db), "every moment the dog jumps", verify=False)
    assert not at.exception
    assert "from stored events" in at.markdown[0].value
    cards = [m for m in texts(at.markdown) if m.startswith("**") and "score" in m]
    assert len(cards) == 1 and cards[0].startswith("**01_dog.mp4**"), cards
    cli = run_query("every moment the dog jumps", query_settings(db, verify=False))
    assert [(m.start_s, m.end_s) for m in cli.moments] == [(2.0, 3.0)] and cli.route == "events"


def test_an_event_question_the_index_settles_is_verified_without_loading_the_model(dashboard, ui_index, tmp_path):
    """With "Verify with Sa2VA" on, an event question whose subject the stored names settle needs no model (the
    demo model's preset parses questions without it): the verified pass answers from the events and never asks
    for the engine."""
    from tools.engine_session import _load

    db = _one_dog_jump(ui_index.db, tmp_path)
    engines_asked = _load.cache_info()
    at = ask(dashboard(db, model="demo"), "every moment the dog jumps", verify=True)
    deadline = time.monotonic() + 60
    while texts(at.info) and time.monotonic() < deadline:  # the verified pass, in the background
        time.sleep(0.2)
        at.run()
    assert not at.exception and not texts(at.info) and not texts(at.warning), texts(at.warning)
    after = _load.cache_info()
    assert (after.hits, after.misses) == (engines_asked.hits, engines_asked.misses)  # no engine asked for
    assert "from stored events" in at.markdown[0].value
    cards = [m for m in texts(at.markdown) if m.startswith("**") and "score" in m]
    assert len(cards) == 1 and cards[0].startswith("**01_dog.mp4**"), cards


def test_search_replaces_retrieval_with_the_verified_answer(dashboard, shared_videos, tiny_checkpoints, tmp_path):
    db = build_short_index(tmp_path, shared_videos / "01_dog.mp4")
    at = ask(dashboard(db, model=tiny_checkpoints("qwen3_vl")), "the dog plays", verify=True)
    assert not at.exception
    # the retrieval-only answer is on screen while the model works in the background
    assert "retrieval only" in at.markdown[0].value
    assert any("Checking the candidates" in i for i in texts(at.info))
    deadline = time.monotonic() + 120
    while "verified by Sa2VA" not in at.markdown[0].value and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        assert not at.exception
        assert not texts(at.warning), texts(at.warning)
    assert "verified by Sa2VA" in at.markdown[0].value
    assert not any("Checking the candidates" in i for i in texts(at.info))


def test_search_with_a_model_that_does_not_load_keeps_retrieval_and_says_why(dashboard, ui_index, tmp_path):
    # A predicate no stored kind answers, so the model is needed ("the dog" alone is answered from its stored track).
    at = ask(dashboard(ui_index.db, model=tmp_path / "no-such-model"), "the dog plays", verify=True)
    deadline = time.monotonic() + 60
    while not at.warning and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    warnings = texts(at.warning)
    assert len(warnings) == 1 and warnings[0].startswith("Not verified:") and "\n" not in warnings[0]
    assert "retrieval only" in at.markdown[0].value
    assert any(m.startswith("**01_dog.mp4**") for m in texts(at.markdown))


# ---- library and jobs ---------------------------------------------------------------------------------------


def test_library_lists_every_video_with_its_state(dashboard, ui_index):
    at = dashboard(ui_index.db, page="page_library.py")
    assert not one_line_errors(at)
    table = at.dataframe[0].value.set_index("video")
    assert table.loc["01_dog.mp4", "status"] == "indexed"
    assert table.loc["01_dog.mp4", "objects"] == 3
    # Left "indexing" by a run that is gone (no live process holds the indexer lock): not shown as running.
    assert table.loc["08_driving.mp4", "status"] == "interrupted at 1/2; index again to resume"
    assert table.loc["08_driving.mp4", "progress"] == pytest.approx(0.5)
    assert table.loc["broken.mp4", "status"] == "failed"
    assert table.loc["broken.mp4", "error"].endswith("moov atom not found")  # first line only
    assert table.loc["01_dog.mp4", "duration"] == "0:09.7"


def test_library_shows_indexing_only_while_an_indexer_holds_the_index(dashboard, ui_index):
    from agent.indexing.index_lock import hold_lock

    with hold_lock(ui_index.db, "indexer", "sva index (test)"):
        at = dashboard(ui_index.db, page="page_library.py")
        table = at.dataframe[0].value.set_index("video")
        assert table.loc["08_driving.mp4", "status"] == "indexing 1/2"
        assert any("refreshes every few seconds" in c for c in texts(at.caption))
    at = dashboard(ui_index.db, page="page_library.py")
    assert not any("refreshes every few seconds" in c for c in texts(at.caption)), "a dead run is not polled"


def test_library_refuses_a_folder_that_does_not_exist(dashboard, ui_index, tmp_path):
    from ui.dashboard_config import indexer_launches

    before = len(indexer_launches().all())
    at = dashboard(ui_index.db, page="page_library.py")
    at.text_input[0].input(str(tmp_path / "nowhere"))
    at.button(key="FormSubmitter:add-folder-Index this folder").click().run()
    assert any("is not a folder" in e for e in one_line_errors(at))
    assert len(indexer_launches().all()) == before


def test_library_starts_the_indexer_as_a_background_process(dashboard, tmp_path):
    from ui.dashboard_config import indexer_launches

    db = tmp_path / "new" / "index.duckdb"  # no index yet: the page says so and still offers the form
    folder = tmp_path / "footage"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a video")
    at = dashboard(db, page="page_library.py")
    assert any("no index at" in e for e in one_line_errors(at))
    at.text_input[0].input(str(folder))
    at.text_input[1].input("the dog, a person")
    started = time.monotonic()
    at.button(key="FormSubmitter:add-folder-Index this folder").click().run()
    assert time.monotonic() - started < 5  # the script run does not wait for the indexer
    assert any("in the background" in s for s in texts(at.success))
    launch = indexer_launches().all()[0]
    assert launch.command[1:4] == ["-m", "agent.cli", "index"]
    assert launch.command[-4:] == ["--watch", "the dog", "--watch", "a person"]
    assert launch.log_path.parent == db.with_name("index.duckdb.logs")
    code = launch.process.wait(timeout=60)  # a folder without videos: the indexer stops at once
    assert code != 0

    jobs = dashboard(db, page="page_jobs.py")
    labels = [e.label for e in jobs.expander if f"pid {launch.pid}" in e.label]
    assert len(labels) == 1 and "running" not in labels[0] and (f"exit {code}" in labels[0] or code == 1)


def test_jobs_page_lists_runs_with_progress_and_errors(dashboard, ui_index):
    at = dashboard(ui_index.db, page="page_jobs.py")
    assert not one_line_errors(at)
    job = at.dataframe[0].value.iloc[0]
    assert job["status"] == "partial" and job["error"] == "1 video failed"
    assert job["videos"] == "2/4" and job["progress"] == pytest.approx(0.5)


# ---- video ------------------------------------------------------------------------------------------------


def video_id(db: Path, path: str) -> int:
    from index.reader import IndexReader

    return IndexReader(db, linger_s=0).video(path).video_id


def test_video_page_shows_timeline_captions_and_objects(dashboard, ui_index):
    dog = video_id(ui_index.db, ui_index.dog)
    at = dashboard(ui_index.db, page="page_video.py", query={"video": str(dog)})
    assert not one_line_errors(at)
    assert at.selectbox[0].value == dog
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1  # the timeline is a chart, not a table
    assert "a brown dog" in str(charts[0].proto) and "a red ball" in str(charts[0].proto)
    captions = at.dataframe[0].value
    assert list(captions["caption"]) == [c for c, _ in DOG_CHUNKS]
    # objects seen in the default range (the first 30 s: all of this video), each with a thumbnail
    assert {"**a brown dog**", "**a wooden fence**", "**a red ball**"} <= {m.split("  ")[0] for m in texts(at.markdown)}
    assert len(at.get("image")) == 3


@pytest.mark.parametrize("asked, message", [("../../etc/passwd", "is not a video id"), ("999", "no video with id 999")])
def test_video_page_takes_only_ids_of_indexed_videos(dashboard, ui_index, asked, message):
    at = dashboard(ui_index.db, page="page_video.py", query={"video": asked})
    errors = one_line_errors(at)
    assert message in errors[0]
    # the page falls back to the first indexed video in the library's order (by path, so which one that is
    # depends on where the checkout and the temporary folder live)
    from index.reader import IndexReader

    listed = IndexReader(ui_index.db, linger_s=0).library()
    first = next(v for v in listed if v.status in ("done", "partial", "indexing"))
    assert at.selectbox[0].value == first.video_id


def test_video_page_of_a_moved_file_still_shows_what_the_index_knows(dashboard, ui_index):
    at = dashboard(ui_index.db, page="page_video.py", query={"video": str(video_id(ui_index.db, ui_index.moved))})
    errors = one_line_errors(at)
    assert len(errors) == 1 and "has moved or been deleted" in errors[0]
    assert len(at.get("vega_lite_chart")) == 1
    assert any("needs the video file" in c for c in texts(at.caption))


def test_video_chat_answers_about_the_chosen_range(dashboard, ui_index, tiny_checkpoints, monkeypatch):
    import ui.video_chat

    monkeypatch.setattr(ui.video_chat, "MAX_NEW_TOKENS", 8)  # random weights: a few tokens prove the path
    dog = video_id(ui_index.db, ui_index.dog)
    at = dashboard(ui_index.db, page="page_video.py", model=tiny_checkpoints("qwen3_vl"), query={"video": str(dog)})
    at.slider[0].set_value((2.0, 6.0)).run()
    at.chat_input[0].set_value("what does the dog do?").run()
    assert not at.exception and not one_line_errors(at)
    messages = at.chat_message
    assert [m.name for m in messages] == ["user", "assistant"]
    assert "0:02.0–0:06.0" in messages[0].markdown[0].value


# ---- what users can break -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "not a database", "a folder"])
@pytest.mark.parametrize("page", ["page_search.py", "page_library.py", "page_video.py", "page_jobs.py"])
def test_a_bad_index_path_is_one_error_line_on_every_page(dashboard, tmp_path, kind, page):
    db = tmp_path / "index.duckdb"
    if kind == "not a database":
        db.write_text("hello")
    elif kind == "a folder":
        db.mkdir()
    at = dashboard(db, page=page)
    if page == "page_search.py":
        at = ask(at, "the dog", verify=False)
    assert not at.exception
    errors = one_line_errors(at)
    assert len(errors) == 1, errors
    assert str(db) in errors[0]


@pytest.mark.parametrize(
    "question, says",
    [
        ("x" * 1_000_000, "query is 1,000,000 characters long, over the limit of 2,000"),
        ("the dog\x1b[31m jumps", "has a control character (U+001B)"),
        ("\x00", "has a control character (U+0000)"),
        ("", "is empty"),
    ],
)
def test_a_hostile_question_is_one_error_line_and_asks_nothing_of_the_model(dashboard, ui_index, question, says):
    at = ask(dashboard(ui_index.db), question, verify=True)
    assert not at.exception
    errors = one_line_errors(at)
    assert len(errors) == 1 and says in errors[0], errors
    assert not any("Checking the candidates" in i for i in texts(at.info)), "no verification was started"


def test_a_hostile_chat_question_is_one_error_line(dashboard, ui_index):
    dog = video_id(ui_index.db, ui_index.dog)
    at = dashboard(ui_index.db, page="page_video.py", query={"video": str(dog)})
    at.chat_input[0].set_value("what does the dog do?\x00" + "x" * 3000).run()
    assert not at.exception
    errors = one_line_errors(at)
    assert len(errors) == 1 and "over the limit of 2,000" in errors[0], errors
    assert not at.chat_message, "nothing was asked of the model"


def test_pages_keep_reading_while_an_indexer_writes(dashboard, tmp_path):
    db = tmp_path / "live.duckdb"
    video = make_video_file(tmp_path / "cam.mp4")
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.index_fixtures", str(db), str(video), "--chunks", "30", "--sleep", "0.05",
         "--progress"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        writer.stdout.readline()  # the first chunk is committed
        seen = []
        while writer.poll() is None:
            library = dashboard(db, page="page_library.py")
            assert not one_line_errors(library)
            seen.append(int(library.dataframe[0].value.iloc[0]["chunks"].split("/")[0]))
            jobs = dashboard(db, page="page_jobs.py")
            assert not one_line_errors(jobs)
        assert writer.wait(timeout=60) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert seen == sorted(seen) and seen[0] < 30, seen
    final = dashboard(db, page="page_library.py").dataframe[0].value.iloc[0]
    assert final["status"] == "indexed" and final["chunks"] == "30/30"


def test_jobs_page_lists_schedules(dashboard, ui_index, tmp_path):
    import shutil

    from agent.schedule.schedule_spec import ScheduledRun
    from agent.schedule.schedule_store import ScheduleStore

    db = tmp_path / "index.duckdb"
    shutil.copy(ui_index.db, db)
    at = dashboard(db, page="page_jobs.py")
    assert any("No schedules" in c for c in texts(at.caption))
    ScheduleStore(db).add(tmp_path, ScheduledRun(), every_s=3600)
    at = dashboard(db, page="page_jobs.py")
    assert not one_line_errors(at)
    schedule = at.dataframe[1].value.iloc[0]
    assert schedule["folder"] == str(tmp_path) and schedule["when"] == "every 1h"
    assert schedule["next run (UTC)"].startswith(str(__import__("datetime").datetime.utcnow().year))
