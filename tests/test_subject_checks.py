"""An ambiguous object is checked with the model once per subject, not once per question: the verdict is kept in
the index (index/subject_checks.py) and asked again only when the object's key frame changes or its video is
indexed again."""

import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from agent.query.query_answer import QuerySettings
from agent.query.query_graph import QueryRunner
from agent.query.subject_resolution import resolve_subject
from index.embedder import default_embedder
from index.summaries import ObjectNames
from index.video_plan import VideoFacts
from index.writer import IndexWriter
from sa2va_engine.masklet import Masklet, TrackPoint
from tools.chunk_analysis import ChunkAnalysis, GroundedPhrase

QUESTION = "find every moment the red ball jumps"
LABEL = "a red sphere"  # names close to "the red ball" without being it: neither accepted nor rejected by the words
H, W = 36, 64
ROOT = Path(__file__).resolve().parents[1]


def _mask(size: int) -> np.ndarray:
    m = np.zeros((H, W), dtype=bool)
    m[10:10 + size, 20:20 + size] = True
    return m


class CountingEngine:
    """Stands in for Sa2VA's `track`: segments every frame it is given with `mask` (None: finds nothing)."""

    def __init__(self, mask: np.ndarray | None):
        self.mask = mask
        self.calls = 0

    def track(self, frames, expressions, prompt_every_frame=False, frame_times=None, **_):
        self.calls += 1
        points = [TrackPoint.from_mask(t, self.mask, 0.9) if self.mask is not None
                  else TrackPoint(time_s=t, present=False, score=0.1) for t in frame_times]
        return [Masklet(expression=e, points=points) for e in expressions]

    def yes_probabilities(self, visuals, question):  # nothing resolved: retrieval verifies chunks, all say no
        return [0.0 for _ in visuals]


def _chunk(video: str, k: int, mask: np.ndarray) -> ChunkAnalysis:
    times = [k * 2.0 + 0.5, k * 2.0 + 1.0]
    points = [TrackPoint.from_mask(t, mask, 0.9) for t in times]
    return ChunkAnalysis(video_path=video, chunk_index=k, start_s=k * 2.0, end_s=k * 2.0 + 2.0, frame_times=times,
                         caption="a dog on the grass", grounded_caption=f"<p>{LABEL}</p> [SEG]",
                         phrases=[GroundedPhrase(phrase=LABEL, masklet=Masklet(expression=LABEL, points=points))])


@pytest.fixture
def indexed(tmp_path, shared_videos):
    db, video = tmp_path / "i.duckdb", str(shared_videos / "01_dog.mp4")
    writer = IndexWriter(db)
    plan = writer.begin_video(video, VideoFacts(duration_s=4.0, fps=25.0, width=1280, height=720),
                              [(0.0, 2.0), (2.0, 4.0)])
    writer.commit_chunk(plan.video_id, _chunk(video, 0, _mask(8)))
    return db, video, writer, plan


def _ask(db, engine) -> list[int]:
    settings = QuerySettings(db=db, model="demo", verify=True, model_parser=False)
    return QueryRunner(settings, engine=engine).run(QUESTION).objects


def _checks(db) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT object_id, subject, key_time_s, accepted FROM subject_checks").fetchall()


def test_the_premise_the_object_is_ambiguous_for_the_subject():
    obj = ObjectNames(object_id=1, video_id=1, video_path="v.mp4", label=LABEL, description=None, phrases=[LABEL],
                      first_seen_s=0.0, last_seen_s=1.0)
    assert [o.object_id for o in resolve_subject("the red ball", [obj], default_embedder()).ambiguous] == [1]


@pytest.mark.parametrize("model_says", ["yes", "no"])
def test_the_model_is_asked_once_per_object_and_subject(indexed, model_says):
    db, video, writer, plan = indexed
    first = CountingEngine(_mask(8) if model_says == "yes" else None)
    found = _ask(db, first)
    assert first.calls == 1
    assert (len(found) == 1) == (model_says == "yes")
    assert [(s, a) for _, s, _, a in _checks(db)] == [("the red ball", model_says == "yes")]

    again = CountingEngine(None if model_says == "yes" else _mask(8))  # would say the opposite if it were asked
    assert _ask(db, again) == found
    assert again.calls == 0  # answered from the stored verdict, no frame decoded, no model


def test_a_new_key_frame_or_a_reindexed_video_asks_again(indexed):
    db, video, writer, plan = indexed
    _ask(db, CountingEngine(_mask(8)))
    # The object's next chunk gives it a larger mask: the frame the verdict was made on is no longer its key frame.
    object_id = writer.chunk_object_ids(plan.video_id, 0)[0]
    writer.commit_chunk(plan.video_id, _chunk(video, 1, _mask(12)), links=[object_id])
    engine = CountingEngine(_mask(12))
    assert _ask(db, engine) == [object_id] and engine.calls == 1
    assert [t for _, _, t, _ in _checks(db)] == [2.5]
    # Indexed again with other chunks: the video's rows go, its verdicts with them.
    writer.begin_video(video, VideoFacts(duration_s=4.0, fps=25.0, width=1280, height=720), [(0.0, 4.0)])
    assert _checks(db) == []


def test_an_index_busy_with_another_reader_answers_without_remembering(indexed):
    db, video, writer, plan = indexed
    code = ("import time; from pathlib import Path; from index.connection import open_read\n"
            f"with open_read(Path({str(db)!r})):\n    print('held', flush=True); time.sleep(6)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        engine = CountingEngine(_mask(8))
        assert len(_ask(db, engine)) == 1 and engine.calls == 1  # the answer, though the verdict could not be kept
        assert holder.poll() is None  # still held: the write gave up rather than wait for it
    finally:
        holder.wait(timeout=30)
    assert _checks(db) == []
