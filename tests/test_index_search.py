"""Search with the real all-MiniLM-L6-v2 from the installed wheel (no network): meaning, not word overlap,
ranks the stored captions, phrases and descriptions; filters and moments work on top of it."""

import os

import numpy as np
import pytest

from index.connection import open_read
from index.embedder import MODEL_NAME, default_embedder
from index.reader import IndexReader
from index.writer import IndexWriter
from sa2va_engine.masklet import Masklet, TrackPoint
from tools.chunk_analysis import ChunkAnalysis, GroundedPhrase
from tests import index_fixtures as fx

CAPTIONS = [
    "a red sedan drives down a wet street at night",
    "a golden retriever chases a ball across the lawn",
    "two chefs chop vegetables in a restaurant kitchen",
    "a man in a yellow jacket climbs a ladder",
    "children play football in a school yard",
]


def chunk(video, k, caption, phrase):
    times = [k * 10.0 + j for j in range(10)]
    mask = np.zeros((8, 8), dtype=bool)
    mask[2:5, 2:6] = True
    points = [TrackPoint.from_mask(t, mask, 0.95) if 3 <= j <= 6 else TrackPoint(time_s=t, present=False, score=0.0)
              for j, t in enumerate(times)]
    return ChunkAnalysis(video_path=str(video), chunk_index=k, start_s=k * 10.0, end_s=k * 10.0 + 10.0,
                         frame_times=times, caption=caption,
                         phrases=[GroundedPhrase(phrase=phrase, masklet=Masklet(expression=phrase, points=points))])


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    d = tmp_path_factory.mktemp("search")
    db = d / "index.duckdb"
    video = fx.make_video_file(d / "street.mp4")
    other = fx.make_video_file(d / "kitchen.mp4", seed=3)
    w = IndexWriter(db)  # the real model
    plan = w.begin_video(video, fx.facts(len(CAPTIONS)), fx.chunk_spans(len(CAPTIONS)))
    phrases = ["red sedan", "golden retriever", "chef", "man in a yellow jacket", "child"]
    for k, (caption, phrase) in enumerate(zip(CAPTIONS, phrases)):
        w.commit_chunk(plan.video_id, chunk(video, k, caption, phrase),
                       descriptions=["a dog with long golden fur" if k == 1 else None])
    plan2 = w.begin_video(other, fx.facts(1), fx.chunk_spans(1))
    w.commit_chunk(plan2.video_id, chunk(other, 0, "a cook fries eggs in a pan", "cook"))
    return db, video, other


def test_model_loads_offline_from_the_wheel():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    vecs = default_embedder().embed(["a car", "an automobile", "a banana"])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2


@pytest.mark.parametrize(
    "query, chunk_index",
    [("a car on a road in the dark", 0), ("puppy playing fetch", 1), ("cooking food", 2),
     ("someone going up a ladder", 3), ("kids playing soccer", 4)],
)
def test_paraphrases_find_the_right_chunk(indexed, query, chunk_index):
    db, video, _ = indexed
    hits = IndexReader(db).search(query, k=3, video=video)
    assert hits[0].chunk_index == chunk_index
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_search_covers_phrases_descriptions_and_filters(indexed):
    db, video, other = indexed
    r = IndexReader(db)
    hits = r.search("dog with golden fur", k=3, kinds=["description"])
    assert [h.kind for h in hits] == ["description"] and hits[0].object_id is not None
    phrase = r.search("retriever", k=1, kinds=["phrase"])[0]
    assert (phrase.start_s, phrase.end_s) == (13.0, 16.0)  # the object's present frames, not the chunk
    in_window = r.search("cooking food", k=10, start_s=20.5, end_s=29.0, video=video)  # inclusive overlap
    assert {h.chunk_index for h in in_window} == {2}
    everywhere = r.search("cooking food", k=2)
    assert {h.video_path for h in everywhere} == {str(video.resolve()), str(other.resolve())}
    assert all(h.text for h in everywhere) and r.search("x", k=0) == []


def test_moments_from_search_carry_evidence(indexed):
    db, video, _ = indexed
    r = IndexReader(db)
    moments = r.find_moments("a dog playing with a ball", k=5, min_score=0.3, gap_s=1.0, min_len_s=2.0)
    best = moments[0]
    assert best.video_path == str(video.resolve())
    assert 10.0 <= best.start_s and best.end_s <= 20.0
    assert any(e.object_id and e.track_times == [13.0, 14.0, 15.0, 16.0] for e in best.evidence)
    assert all(e.caption == CAPTIONS[1] for e in best.evidence)
    assert all(m.score >= 0.3 for m in moments)


def test_vectors_remember_their_model(indexed):
    db, _, _ = indexed
    with open_read(db) as con:
        assert con.execute("SELECT DISTINCT model FROM texts").fetchall() == [(MODEL_NAME,)]


def test_two_pass_search_ranks_exactly_like_a_full_scan(tmp_path):
    """Search shortlists on the int8 copy of the vectors, then rescores exactly (schema v4). On 600 near-duplicate
    texts (many scores within 1e-3 of each other) the result must equal ranking every float vector."""
    colours = ["red", "blue", "green", "white", "black", "yellow"]
    things = ["car", "van", "truck", "bus", "bike"]
    actions = ["parks", "turns left", "stops", "speeds up", "waits", "reverses", "drives past", "honks", "breaks down",
               "enters the lot"]
    phrases = [f"a {c} {t} {a}" for c in colours for t in things for a in actions]
    assert len(phrases) == 300
    db = tmp_path / "index.duckdb"
    video = fx.make_video_file(tmp_path / "lot.mp4")
    w = IndexWriter(db)
    plan = w.begin_video(video, fx.facts(30), fx.chunk_spans(30))
    empty = [TrackPoint(time_s=0.0, present=False, score=0.0)]
    for k in range(30):
        texts = phrases[k * 10:(k + 1) * 10]
        analysis = ChunkAnalysis(
            video_path=str(video), chunk_index=k, start_s=k * 10.0, end_s=k * 10.0 + 10.0, frame_times=[k * 10.0],
            caption=f"{texts[0]} near the gate",
            phrases=[GroundedPhrase(phrase=p, masklet=Masklet(expression=p, points=[e.model_copy(update={"time_s": k * 10.0})
                                                                                      for e in empty]))
                     for p in texts])
        w.commit_chunk(plan.video_id, analysis)
    with open_read(db) as con:
        stored = con.execute("SELECT text, vec, qvec, qscale FROM texts WHERE model = ?", [MODEL_NAME]).fetchall()
    assert len(stored) == 330
    texts = [s[0] for s in stored]
    vecs = np.array([s[1] for s in stored], dtype=np.float32)
    approx = np.array([s[2] for s in stored], dtype=np.float32) * np.array([s[3] for s in stored], dtype=np.float32)[:, None]
    assert np.abs(approx - vecs).max() <= np.abs(vecs).max(axis=1).max() / 254 + 1e-7  # half a quantization step
    embedder = default_embedder()
    reader = IndexReader(db, embedder=embedder)
    for query in ["a blue van turning left", "a white bike that stopped", "a truck reversing near the gate"]:
        q = embedder.embed([query])[0]
        exact = [i for i in np.argsort(-(vecs @ q), kind="stable") if texts[i] in phrases][:50]
        hits = reader.search(query, k=50, kinds=["phrase"])
        assert [h.text for h in hits] == [texts[i] for i in exact]
        assert [h.score for h in hits] == pytest.approx([float(vecs[i] @ q) for i in exact], abs=1e-5)
        everything = np.argsort(-(vecs @ q), kind="stable")[:20]  # no filter: the other SQL path
        assert [h.text for h in reader.search(q, k=20)] == [texts[i] for i in everything]


def test_a_remembering_embedder_computes_each_text_once_and_returns_its_vector_again():
    from index.embedder import RememberingEmbedder

    asked: list[list[str]] = []

    class Counting:
        model_name = "counting"

        def embed(self, texts):
            asked.append(list(texts))
            return default_embedder().embed(texts)

    embedder = RememberingEmbedder(Counting(), max_texts=2)
    first = embedder.embed(["a red dog", "a white ball"])
    again = embedder.embed(["a white ball", "a red dog", "a man"])  # one new text: only it is computed
    assert asked == [["a red dog"], ["a white ball"], ["a man"]]  # each alone: its bits never depend on a batch
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[1], first[0])
    assert np.array_equal(again[2], default_embedder().embed(["a man"])[0])
    embedder.embed(["a man", "a red dog"])  # the two used last are kept ...
    assert len(asked) == 3
    embedder.embed(["a white ball"])  # ... and the one used longest ago was forgotten
    assert asked[-1] == ["a white ball"] and embedder.model_name == "counting"
