"""Where an indexing run's time goes (#24): seconds per stage, frames and tokens, in `sva index`'s report, on
stderr, in the job row and on the dashboard's Jobs page; the clock's own accounting."""

from __future__ import annotations

import json
import time

import duckdb
import numpy as np

from agent.indexing.stage_clock import STAGES, StageClock, StageTimes, TimedEmbedder


def test_sva_index_reports_the_stage_split_and_the_job_keeps_it(indexed_library):
    db, videos, result = indexed_library
    report = json.loads(result.stdout)
    stages = StageTimes.model_validate(report["stages"])
    assert set(stages.seconds) == set(STAGES) and all(s >= 0 for s in stages.seconds.values())
    for stage in ("decode", "caption", "ground", "track", "embed", "commit"):
        assert stages.seconds[stage] > 0, stage
    with duckdb.connect(str(db), read_only=True) as con:
        frames, chunks = con.execute(
            "SELECT sum(len(frame_times)), count(*) FILTER (WHERE len(frame_times) > 0) FROM chunks").fetchone()
        [(stored,)] = con.execute("SELECT stages FROM jobs").fetchall()
    assert stages.frames == frames and stages.chunks == chunks
    # The tiny random checkpoint generates to its caps: every chunk's caption and grounded caption cost tokens.
    assert stages.tokens["caption"] >= chunks and stages.tokens["ground"] >= chunks
    assert StageTimes.model_validate_json(stored) == stages
    assert f"{stages.frames:,} frames, {chunks} chunks" in result.stderr and "caption " in result.stderr


def test_the_jobs_page_shows_where_the_time_went(indexed_library, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.agent_fixtures import REPO

    db, _, result = indexed_library
    monkeypatch.setenv("SVA_DB", str(db))
    monkeypatch.setenv("SVA_UI_HOST", "127.0.0.1")
    at = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=90).run()
    at.switch_page("page_jobs.py").run()
    table = at.dataframe[0].value
    [line] = table["time went to"].tolist()
    assert line.startswith("decode ") and "tokens generated" in line
    # And in sight, below the table: a chart of the newest run's seconds per stage, the same line under it.
    job_id = int(table["job"].iloc[0])
    assert any(h.value == f"Where the time of job {job_id} went" for h in at.subheader)
    assert any(c.value == line for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 1


def test_model_stages_count_the_tokens_generated_in_them_and_commit_excludes_embedding():
    class Engine:
        generated_tokens = 0

    engine = Engine()
    clock = StageClock(tokens=lambda: engine.generated_tokens)
    with clock.stage("caption"):
        engine.generated_tokens += 12
    with clock.stage("track"):
        pass
    with clock.stage("ground"):
        engine.generated_tokens += 30
    assert clock.times.tokens == {"caption": 12, "ground": 30} and clock.times.total_tokens == 42

    loads = []

    class Slow:
        model_name = "slow"

        def embed(self, texts):
            time.sleep(0.05)
            return np.zeros((len(texts), 384), np.float32)

    def load():
        loads.append(1)
        time.sleep(0.5)  # loading the embedder is start-up, not the embed stage
        return Slow()

    embedder = TimedEmbedder(load, clock)
    assert not loads, "loaded on first use only"
    embedder.embed(["a"])
    embedder.embed(["b"])
    assert loads == [1] and embedder.model_name == "slow"
    assert 0.1 <= clock.times.seconds["embed"] < 0.45
