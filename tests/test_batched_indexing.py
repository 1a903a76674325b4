"""Chunks in flight (#24): decoding ahead, captioning / grounding several chunks in one batched generation,
tracking them with SAM-2's image encoder over their frames in shared batches and linking / committing them behind
the analysis store the rows of one-chunk-at-a-time indexing (tracks up to float rounding), and the batches really
hold several chunks."""

from __future__ import annotations

import threading

import duckdb
import pytest

from agent.indexing.chunk_committer import ChunkCommitter
from agent.indexing.index_settings import IndexSettings
from agent.indexing.indexer import run_index
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


def _same_track_point(a: tuple, b: tuple) -> bool:
    """Rows (path, chunk, time, score, box, area) equal up to float rounding: a pixel of a box, 1% of an area."""
    return (a[:3] == b[:3] and a[3] == pytest.approx(b[3], abs=1e-4) and (a[4] is None) == (b[4] is None)
            and (a[4] is None or (max(abs(x - y) for x, y in zip(a[4:8], b[4:8])) <= 1
                                  and abs(a[8] - b[8]) <= 0.01 * max(a[8], b[8]) + 2)))


def test_batched_and_pipelined_indexing_stores_what_one_chunk_at_a_time_stores(tmp_path, shared_videos,
                                                                               tracking_checkpoint, monkeypatch):
    engine = Sa2VA.from_pretrained(tracking_checkpoint, device="cpu")
    batches: list[int] = []
    chat_batch = engine.chat_batch
    monkeypatch.setattr(engine, "chat_batch", lambda visuals, *a, **k: batches.append(len(visuals)) or
                        chat_batch(visuals, *a, **k))
    encoded: list[int] = []  # frames in each pass of SAM-2's image encoder
    engine.model.sam2.image_encoder.register_forward_hook(lambda m, args, out: encoded.append(args[0].shape[0]))
    videos = [str(shared_videos / "01_dog.mp4"), str(shared_videos / "06_pingpong.mp4")]
    common = dict(model=str(tracking_checkpoint), chunk_s=2.0, overlap_s=0.5, sample_fps=1.0, max_side=128,
                  max_new_tokens=12, watch=["the dog"], describe=False)
    committed_on: list[str] = []  # the thread each chunk was committed on
    commit = ChunkCommitter.commit
    monkeypatch.setattr(ChunkCommitter, "commit", lambda self, *a: committed_on.append(
        threading.current_thread().name) or commit(self, *a))
    reports, passes, threads = {}, {}, {}
    for name, flow in (("one", dict(batch_chunks=1, decode_ahead=0, frame_batch=1, commit_behind=0)),
                       ("batched", dict(batch_chunks=4, decode_ahead=3, frame_batch=4, commit_behind=4))):
        settings = IndexSettings(db=tmp_path / f"{name}.duckdb", **common, **flow)
        encoded.clear()
        committed_on.clear()
        reports[name] = run_index(videos, settings, engine=engine)
        passes[name], threads[name] = list(encoded), set(committed_on)
        if name == "one":
            assert batches == [], "one at a time never batches"
    assert threads["one"] == {threading.current_thread().name}
    assert len(threads["batched"]) == 1 and next(iter(threads["batched"])).startswith("sva-commit-behind")
    # Batches of several chunks (a chunk with nothing decoded after it yet goes alone, through `chat`).
    assert max(batches) > 1 and sum(batches) <= reports["batched"].stages.chunks, batches
    one, batched = _rows(tmp_path / "one.duckdb"), _rows(tmp_path / "batched.duckdb")
    assert one["chunks"] and one["track_points"]
    # SAM-2 encoded the same frames, in passes of more frames than any chunk has: batches that span chunks.
    assert set(passes["one"]) == {1} and sum(passes["batched"]) == sum(passes["one"])
    assert max(passes["batched"]) == 4 > max(len(row[7]) for row in one["chunks"]), passes
    assert batched["chunks"] == one["chunks"] and batched["objects"] == one["objects"]
    assert len(batched["track_points"]) == len(one["track_points"])
    assert all(_same_track_point(a, b) for a, b in zip(batched["track_points"], one["track_points"]))
    assert reports["batched"].stages.tokens == reports["one"].stages.tokens


def test_a_batch_that_fails_falls_back_to_the_chunk_alone(tmp_path, shared_videos, tracking_checkpoint, monkeypatch):
    engine = Sa2VA.from_pretrained(tracking_checkpoint, device="cpu")

    def out_of_memory(visuals, *a, **k):
        raise RuntimeError("CUDA out of memory (simulated)")

    ground_caption_batch = engine.ground_caption_batch
    monkeypatch.setattr(engine, "ground_caption_batch", out_of_memory)
    settings = IndexSettings(db=tmp_path / "i.duckdb", model=str(tracking_checkpoint), chunk_s=2.0, overlap_s=0.5,
                             sample_fps=1.0, max_side=128, max_new_tokens=8, describe=False, batch_chunks=4,
                             decode_ahead=3, watch=["the dog"], frame_batch=4)
    report = run_index([str(shared_videos / "01_dog.mp4")], settings, engine=engine)
    assert report.exit_code == 0 and report.videos[0].chunks_failed == 0

    # The same for tracking several chunks at once (grounded together, so their phrases are known).
    monkeypatch.setattr(engine, "ground_caption_batch", ground_caption_batch)
    tracked: list[int] = []
    track_many = engine.track_many

    def track_one_chunk_only(clips, frame_batch=1):
        tracked.append(len(clips))
        if len(clips) > 1:
            raise RuntimeError("CUDA out of memory (simulated)")
        return track_many(clips, frame_batch)

    monkeypatch.setattr(engine, "track_many", track_one_chunk_only)
    report = run_index([str(shared_videos / "01_dog.mp4")], settings.model_copy(update={"db": tmp_path / "t.duckdb"}),
                       engine=engine)
    assert report.exit_code == 0 and report.videos[0].chunks_failed == 0
    assert max(tracked) > 1 and tracked.count(1) == report.stages.chunks  # tried together, then each alone


@pytest.mark.parametrize("step", ["link", "commit"])
def test_a_chunk_failing_behind_the_analysis_is_recorded_failed_and_retried(tmp_path, shared_videos,
                                                                            tracking_checkpoint, monkeypatch, step):
    engine = Sa2VA.from_pretrained(tracking_checkpoint, device="cpu")
    settings = IndexSettings(db=tmp_path / "i.duckdb", model=str(tracking_checkpoint), chunk_s=2.0, overlap_s=0.5,
                             sample_fps=1.0, max_side=128, max_new_tokens=8, describe=False, watch=["the dog"],
                             commit_behind=4)  # links and commits behind (CUDA's default)
    original = getattr(ChunkCommitter, step)

    def failing_on_chunk_1(self, video, chunk, *a):
        if chunk.index == 1:
            raise ValueError(f"simulated {step} failure")
        return original(self, video, chunk, *a)

    monkeypatch.setattr(ChunkCommitter, step, failing_on_chunk_1)
    report = run_index([str(shared_videos / "01_dog.mp4")], settings, engine=engine)
    video = report.videos[0]
    assert video.outcome == "partial" and video.chunks_failed == 1
    assert video.chunks_done == video.chunks_total - 1
    with duckdb.connect(str(settings.db), read_only=True) as con:
        status = dict(con.execute("SELECT chunk_index, status FROM chunks").fetchall())
        error = con.execute("SELECT error FROM chunks WHERE chunk_index = 1").fetchone()[0]
    assert status[1] == "failed" and all(s == "done" for k, s in status.items() if k != 1)
    assert error.startswith("chunk 1 (") and f"{step}: ValueError: simulated {step} failure" in error

    monkeypatch.setattr(ChunkCommitter, step, original)  # the next run retries only that chunk
    again = run_index([str(shared_videos / "01_dog.mp4")], settings, engine=engine)
    assert again.videos[0].outcome == "indexed" and again.videos[0].chunks_done == 1


def test_an_error_escaping_the_commit_thread_ends_the_run_and_no_later_chunk_passes_for_done(
        tmp_path, shared_videos, tracking_checkpoint, monkeypatch):
    from index.errors import IndexBusy

    engine = Sa2VA.from_pretrained(tracking_checkpoint, device="cpu")
    settings = IndexSettings(db=tmp_path / "i.duckdb", model=str(tracking_checkpoint), chunk_s=2.0, overlap_s=0.5,
                             sample_fps=1.0, max_side=128, max_new_tokens=8, describe=False, watch=["the dog"],
                             commit_behind=4)
    commit = ChunkCommitter.commit

    def failing_on_chunk_1(self, video, chunk, *a):
        if chunk.index == 1:
            raise ValueError("simulated commit failure")
        return commit(self, video, chunk, *a)

    def index_busy(self, video, chunk, error):  # recording the failure fails too: the index is unusable
        raise IndexBusy(f"index {settings.db} is busy: could not get its turnstile to write")

    monkeypatch.setattr(ChunkCommitter, "commit", failing_on_chunk_1)
    monkeypatch.setattr(ChunkCommitter, "fail", index_busy)
    with pytest.raises(IndexBusy, match="is busy"):  # the run stops with the index's own one-line error
        run_index([str(shared_videos / "01_dog.mp4")], settings, engine=engine)
    with duckdb.connect(str(settings.db), read_only=True) as con:
        done = [k for (k,) in con.execute("SELECT chunk_index FROM chunks WHERE status = 'done' ORDER BY 1").fetchall()]
    assert done == [0]  # the chunks after the failure were not committed, and the next run does them


def test_chunks_frames_and_commits_are_batched_or_behind_by_default_on_cuda_only(tmp_path):
    assert IndexSettings(db=tmp_path / "i.duckdb", device="cpu").chunk_batch() == 1
    assert IndexSettings(db=tmp_path / "i.duckdb", device="cuda:0").chunk_batch() == 4
    assert IndexSettings(db=tmp_path / "i.duckdb", device="cpu", batch_chunks=3).chunk_batch() == 3
    assert IndexSettings(db=tmp_path / "i.duckdb", device="cpu").sam2_frame_batch() == 1
    assert IndexSettings(db=tmp_path / "i.duckdb", device="cuda:0").sam2_frame_batch() == 8
    assert IndexSettings(db=tmp_path / "i.duckdb", device="cpu", frame_batch=5).sam2_frame_batch() == 5
    assert IndexSettings(db=tmp_path / "i.duckdb", device="cpu").chunks_behind() == 0
    assert IndexSettings(db=tmp_path / "i.duckdb", device="cuda:0").chunks_behind() == 4
    assert IndexSettings(db=tmp_path / "i.duckdb", device="cpu", commit_behind=2).chunks_behind() == 2
