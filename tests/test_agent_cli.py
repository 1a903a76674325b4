"""`sva track` and `sva chat` on a real video with the tiny checkpoint; options reaching their settings."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from tests.agent_fixtures import run_sva
from tools.video_prober import probe_video


def test_track_writes_a_playable_overlay_mp4(tmp_path, shared_videos, tracking_checkpoint):
    out = tmp_path / "overlay.mp4"
    result = run_sva("track", str(shared_videos / "11_polevault.mp4"), "the athlete", "the pole", "--out", str(out),
                     "--model", str(tracking_checkpoint), "--start", "1", "--end", "4", "--fps", "4",
                     "--max-side", "320", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [m["expression"] for m in report["masklets"]] == ["the athlete", "the pole"]
    assert all(len(m["points"]) == 12 for m in report["masklets"])
    assert all(1 <= p["time_s"] < 4 for p in report["masklets"][0]["points"])
    probe = probe_video(out, count_frames=True)
    assert probe.codec == "h264" and probe.frame_count == 12
    assert abs(probe.duration_s - 3.0) < 0.3 and max(probe.display_width, probe.display_height) == 320


def test_track_bad_inputs_are_one_line_errors(tmp_path, shared_videos, tracking_checkpoint):
    video = str(shared_videos / "01_dog.mp4")
    missing_dir = run_sva("track", video, "the dog", "--out", str(tmp_path / "no" / "o.mp4"),
                          "--model", str(tracking_checkpoint), "--end", "1", "--max-side", "128")
    assert missing_dir.returncode == 2 and missing_dir.stderr.startswith("sva: ") and "Traceback" not in missing_dir.stderr
    window = run_sva("track", video, "the dog", "--out", str(tmp_path / "o.mp4"), "--start", "5", "--end", "2")
    assert window.returncode == 2 and "--end (2) must be after --start (5)" in window.stderr
    nofile = run_sva("chat", str(tmp_path / "nope.mp4"), "what happens?", "--model", str(tracking_checkpoint))
    assert nofile.returncode == 2 and "nope.mp4" in nofile.stderr and "Traceback" not in nofile.stderr


def test_chat_answers_about_a_window(shared_videos, tracking_checkpoint):
    result = run_sva("chat", str(shared_videos / "08_driving.mp4"), "What is the car doing?", "--start", "2",
                     "--end", "6", "--model", str(tracking_checkpoint), "--json")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["text"] and len(reply["frame_times"]) == 5
    assert all(2 <= t < 6 for t in reply["frame_times"])


def test_track_prompt_every_frame_reads_the_frames_after_the_key_frames_alone(tmp_path, shared_videos,
                                                                               tracking_checkpoint):
    # 12 frames; the LLM sees the first five. By default SAM-2's memory carries those five to the other seven;
    # with --prompt-every-frame the [SEG] prompt segments each of them alone, so only those seven change.
    def masklet(*flag: str) -> list[dict]:
        result = run_sva("track", str(shared_videos / "01_dog.mp4"), "the dog", "--out", str(tmp_path / "o.mp4"),
                         "--model", str(tracking_checkpoint), "--start", "1", "--end", "4", "--fps", "4",
                         "--max-side", "256", "--json", *flag)
        assert result.returncode == 0, result.stderr
        [only] = json.loads(result.stdout)["masklets"]
        return only["points"]

    memory, alone = masklet(), masklet("--prompt-every-frame")
    assert len(memory) == len(alone) == 12
    assert [p["time_s"] for p in memory] == [p["time_s"] for p in alone]
    assert [(p["score"], p["mask"]) for p in memory[:5]] == [(p["score"], p["mask"]) for p in alone[:5]]
    assert [(p["score"], p["mask"]) for p in memory[5:]] != [(p["score"], p["mask"]) for p in alone[5:]]


class _Captured(Exception):
    """Raised by a stand-in for the work a command hands its settings to, once it has them."""


@pytest.mark.parametrize("flag, expected", [([], False), (["--prompt-every-frame"], True),
                                            (["--no-prompt-every-frame"], False)])
def test_index_and_query_hand_prompt_every_frame_to_their_settings(monkeypatch, tmp_path, flag, expected):
    import agent.indexing.indexer
    import agent.query.query_graph

    def capture(_inputs, settings, *args, **kwargs):
        raise _Captured(settings)

    monkeypatch.setattr(agent.indexing.indexer, "run_index", capture)
    monkeypatch.setattr(agent.query.query_graph, "run_query", capture)
    db = str(tmp_path / "index.duckdb")
    for args in (["index", str(tmp_path), "--db", db], ["query", "find every moment the dog jumps", "--db", db]):
        result = CliRunner().invoke(app, [*args, *flag])
        assert isinstance(result.exception, _Captured), result.output
        assert result.exception.args[0].prompt_every_frame is expected
