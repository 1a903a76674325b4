"""The dashboard's parts that need no page: presence bars, clock text, which files may be served, the
`sva ui` command, and the layering rules (the dashboard reads the index, never writes it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.clock import clock, span
from ui.timeline import presence_segments

REPO = Path(__file__).resolve().parents[1]


def test_presence_segments_split_at_gaps_and_keep_single_sightings():
    times = [0.0, 0.5, 1.0, 1.5, 4.0, 4.5, 9.0]
    assert presence_segments(times) == [(0.0, 2.0), (4.0, 5.0), (9.0, 9.5)]
    assert presence_segments([3.0]) == [(3.0, 3.5)]
    assert presence_segments([]) == []
    assert presence_segments([0.0, 0.5, 1.0, 2.0], max_gap_s=1.0) == [(0.0, 2.5)]


def test_clock_reads_like_a_player():
    assert clock(7.5) == "0:07.5"
    assert clock(723.04) == "12:03.0"
    assert clock(3723.9) == "1:02:03"
    assert clock(None) == "-"
    assert span(1, 2.25) == "0:01.0–0:02.2"


class _Library:
    def __init__(self, summaries):
        self.summaries = summaries

    def library(self):
        return self.summaries


def _summary(video_id: int, path: str):
    from index.summaries import VideoSummary

    return VideoSummary(video_id=video_id, path=path, status="done", error=None, content_hash="h", duration_s=1.0,
                        fps=25.0, width=4, height=4, chunks_total=1, chunks_done=1, chunks_failed=0, objects=0)


@pytest.mark.parametrize("asked", ["../../etc/passwd", "/etc/passwd", "1; DROP TABLE videos", "", "2.5", "7"])
def test_only_ids_of_indexed_videos_resolve(asked):
    from ui.media import video_by_id
    from ui.user_errors import DashboardError

    reader = _Library([_summary(1, "/data/a.mp4")])
    with pytest.raises(DashboardError) as err:
        video_by_id(reader, asked)
    assert "\n" not in str(err.value)
    assert video_by_id(reader, "1").path == "/data/a.mp4"


def test_a_path_is_served_only_if_the_index_holds_it_and_the_file_is_there(tmp_path):
    from tools.video_error import VideoError
    from ui.media import servable, video_by_path
    from ui.user_errors import DashboardError

    kept = tmp_path / "a.mp4"
    kept.write_bytes(b"x")
    reader = _Library([_summary(1, str(kept)), _summary(2, str(tmp_path / "gone.mp4"))])
    assert servable(video_by_path(reader, str(kept))).path == kept
    with pytest.raises(DashboardError):
        video_by_path(reader, "/etc/passwd")
    with pytest.raises(VideoError, match="has moved or been deleted"):
        servable(video_by_path(reader, str(tmp_path / "gone.mp4")))


def test_sva_ui_runs_streamlit_headless_without_telemetry_or_file_watcher(tmp_path):
    from agent.cli.commands_ui import app_script, dashboard_env, streamlit_command

    script = app_script()
    assert script == REPO / "ui" / "app.py"
    command = streamlit_command(script, "127.0.0.1", 8599)
    assert command[1:5] == ["-m", "streamlit", "run", str(script)]
    for flag in ("--server.headless=true", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
                 "--server.address=127.0.0.1", "--server.port=8599"):
        assert flag in command
    env = dashboard_env(tmp_path / "i.duckdb", "/models/tiny")
    assert env["SVA_DB"] == str(tmp_path / "i.duckdb") and env["SVA_MODEL"] == "/models/tiny"


def test_sva_ui_refuses_a_folder_as_the_index(tmp_path):
    from agent.cli.main import app

    result = CliRunner().invoke(app, ["ui", "--db", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().startswith("sva:") and "is a folder" in result.output
    assert len(result.output.strip().splitlines()) == 1


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_the_dashboard_only_reads_and_nothing_below_it_imports_it():
    for path in sorted((REPO / "ui").glob("*.py")):
        found = _imports(path)
        assert not any(n.startswith("index.writer") or n.endswith("IndexWriter") for n in found), path
    for package in ("agent", "tools", "index", "sa2va_engine"):
        for path in sorted((REPO / package).rglob("*.py")):
            assert not any(n == "ui" or n.startswith("ui.") for n in _imports(path)), path


# Modules through which a process reaches outside itself: other programs, the network, the desktop.
_REACH_OUT = {"subprocess", "socket", "urllib", "http", "requests", "httpx", "aiohttp", "smtplib", "ftplib",
              "webbrowser", "multiprocessing", "pty"}


def test_the_dashboard_reaches_out_only_to_start_sva_index():
    """#25: nothing typed into the dashboard (it has no login) chooses a program to run or a URL to call. The
    one process it starts is `sva index` (ui/indexer_launch.py; its command line is pinned below); schedules,
    the only other thing that starts work, are set by `sva schedule add` and only read here. There are no
    webhooks anywhere."""
    for path in sorted((REPO / "ui").glob("*.py")):
        text = path.read_text()
        found = {n for n in _imports(path) if n.split(".")[0] in _REACH_OUT}
        if set(re.findall(r"\bsocket\.(\w+)", text)) <= {"gethostname"}:  # the Jobs page: is a run on this host?
            found.discard("socket")
        assert found <= ({"subprocess"} if path.name == "indexer_launch.py" else set()), (path, found)
        assert not re.search(r"\bos\.(system|popen|exec\w*|spawn\w*|posix_spawn\w*)\(", text), path
        assert set(re.findall(r"ScheduleStore\([^()]*\)\.(\w+)", text)) <= {"all"}, path
        assert text.count("ScheduleStore(") == len(re.findall(r"ScheduleStore\([^()]*\)\.all\(\)", text)), path


def test_an_indexer_started_from_the_dashboard_is_sva_index_with_the_operators_index_and_model(tmp_path,
                                                                                                monkeypatch):
    """What a dashboard user types is the folder and the phrases to track; each stays one argument, read by
    `sva index` as that and nothing else, whatever it looks like."""
    import subprocess
    import sys
    from types import SimpleNamespace

    import typer.main

    import ui.indexer_launch
    from agent.cli.main import app

    commands = []

    class Started(subprocess.Popen):
        """Records the command line; starts nothing."""

        pid, returncode, _child_created = 4242, 0, False

        def __init__(self, command, **kwargs):
            commands.append(command)

    monkeypatch.setattr(ui.indexer_launch, "subprocess", SimpleNamespace(
        Popen=Started, DEVNULL=subprocess.DEVNULL, STDOUT=subprocess.STDOUT))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "--db=evil.duckdb").mkdir()
    watch = ["--db=/tmp/evil.duckdb", "--model", "$(reboot)", "; rm -rf ~", "`id`"]
    db = tmp_path / "index.duckdb"
    ui.indexer_launch.IndexerLaunches().start("--db=evil.duckdb", db, tmp_path / "logs", model="operator-model",
                                              watch=watch)
    (command,) = commands
    assert command[:4] == [sys.executable, "-m", "agent.cli", "index"]
    index_command = typer.main.get_command(app).commands["index"]
    params = index_command.make_context("index", command[4:]).params
    assert params["paths"] == [str(tmp_path / "--db=evil.duckdb")]
    assert params["db"] == db and params["model"] == "operator-model" and params["watch"] == watch


@pytest.mark.parametrize(
    "folder, watch, says",
    [
        ("~no-such-user-here/footage", [], "no such user's home folder"),
        ("/tmp\x00/x", [], "is not a folder"),
        (".", ["the dog\x00"], "has a control character (U+0000)"),
        (".", ["x" * 100_000], "a phrase to track is 100,000 characters long, over the limit of 200"),
    ],
)
def test_what_the_dashboard_cannot_start_is_one_line(tmp_path, monkeypatch, folder, watch, says):
    import ui.indexer_launch
    from ui.user_errors import DashboardError

    monkeypatch.setattr(ui.indexer_launch, "subprocess", None)  # never reached
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DashboardError, match=re.escape(says)) as refused:
        ui.indexer_launch.IndexerLaunches().start(folder, tmp_path / "index.duckdb", tmp_path / "logs", watch=watch)
    assert len(str(refused.value).splitlines()) == 1 and len(str(refused.value)) < 400
