"""Chunks in flight (#24): decoding ahead and captioning / grounding several chunks in one batched generation
store exactly the rows of one-chunk-at-a-time indexing, and the batches really hold several chunks."""

from __future__ import annotations

import duckdb

from agent.index_settings import IndexSettings
from agent.indexer import run_index
from sa2va_engine.sa2va import Sa2VA

TABLES = {
    "chunks": "SELECT v.path, c.chunk_index, c.start_s, c.end_s, c.status, c.caption, c.grounded_caption, c.frame_times "
              "FROM chunks c JOIN videos v USING (video_id) ORDER BY 1, 2",
    "objects": "SELECT v.path, o.first_chunk, o.label, o.first_seen_s, o.last_seen_s FROM objects o "
               "JOIN videos v USING (video_id) ORDER BY 1, 2, 3, 4",
    "track_points": "SELECT v.path, t.chunk_index, t.time_s, t.score, t.x0, t.y0, t.x1, t.y1, t.area "
                    "FROM track_points t JOIN videos v USING (video_id) ORDER BY ALL",
}


def _rows(db) -> dict[str, list]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {table: con.execute(sql).fetchall() for table, sql in TABLES.items()}


def test_batched_and_pipelined_indexing_stores_what_one_chunk_at_a_time_stores(tmp_path, shared_videos,
                                                                               tracking_checkpoint, monkeypatch):
    engine = Sa2VA.from_pretrained(tracking_checkpoint, device="cpu")
    batches: list[int] = []
    chat_batch = engine.chat_batch
    monkeypatch.setattr(engine, "chat_batch", lambda visuals, *a, **k: batches.append(len(visuals)) or
                        chat_batch(visuals, *a, **k))
    videos = [str(shared_videos / "01_dog.mp4"), str(shared_videos / "06_pingpong.mp4")]
    common = dict(model=str(tracking_checkpoint), chunk_s=2.0, overlap_s=0.5, sample_fps=1.0, max_side=128,
                  max_new_tokens=12, watch=["the dog"], describe=False)
    reports = {}
    for name, flow in (("one", dict(batch_chunks=1, decode_ahead=0)), ("batched", dict(batch_chunks=4, decode_ahead=3))):
        settings = IndexSettings(db=tmp_path / f"{name}.duckdb", **common, **flow)
        reports[name] = run_index(videos, settings, engine=engine)
        if name == "one":
            assert batches == [], "one at a time never batches"
    # Batches of several chunks (a chunk with nothing decoded after it yet goes alone, through `chat`).
    assert max(batches) > 1 and sum(batches) <= reports["batched"].stages.chunks, batches
    one, batched = _rows(tmp_path / "one.duckdb"), _rows(tmp_path / "batched.duckdb")
    assert one["chunks"] and one["track_points"]
    assert batched == one
    assert reports["batched"].stages.tokens == reports["one"].stages.tokens


def test_a_batch_that_fails_falls_back_to_the_chunk_alone(tmp_path, shared_videos, tracking_checkpoint, monkeypatch):
    engine = Sa2VA.from_pretrained(tracking_checkpoint, device="cpu")

    def out_of_memory(visuals, *a, **k):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(engine, "ground_caption_batch", out_of_memory)
    settings = IndexSettings(db=tmp_path / "i.duckdb", model=str(tracking_checkpoint), chunk_s=2.0, overlap_s=0.5,
                             sample_fps=1.0, max_side=128, max_new_tokens=8, describe=False, batch_chunks=4,
                             decode_ahead=3)
    report = run_index([str(shared_videos / "01_dog.mp4")], settings, engine=engine)
    assert report.exit_code == 0 and report.videos[0].chunks_failed == 0


def test_chunks_are_batched_by_default_on_cuda_only(tmp_path):
    assert IndexSettings(db=tmp_path / "i.duckdb", device="cpu").chunk_batch() == 1
    assert IndexSettings(db=tmp_path / "i.duckdb", device="cuda:0").chunk_batch() == 4
    assert IndexSettings(db=tmp_path / "i.duckdb", device="cpu", batch_chunks=3).chunk_batch() == 3
