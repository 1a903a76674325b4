"""`sva index --ray`: chunks analysed on Ray engine actors, committed by the one writer, give the same DB as the
single-process run, also when a worker is killed mid-run. One local Ray (2 CPUs) serves the module; the
order in which the graph takes results is also checked without Ray, on a pool that answers out of order.

The reference is a single-process run made here, with this process's torch thread count: the writer embeds
texts with MiniLM, whose vectors differ in the last bits with the thread count, and the Ray run's writer is
this process. What the model found (chunks, captions, phrases, objects, tracks) is also compared with the
`sva index` run of `indexed_library`, made with whatever threads that process had: the same rows, with
track masks equal up to the odd boundary pixel (on some CPUs SAM-2's float sums round differently with
the thread count: one pixel of one mask in 68 was seen on a 2-core AMD EPYC)."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from agent.indexing.chunk_analyser import ChunkWork
from agent.indexing.chunk_frames import decode_chunks
from agent.indexing.index_report import SilentProgress
from agent.indexing.index_settings import IndexSettings
from agent.indexing.indexer import run_index
from agent.indexing.ray_options import RayOptions
from agent.indexing.ray_worker import EngineWorker
from agent.indexing.stage_clock import StageTimes
from agent.indexing.chunk_committer import plan_spans
from index.object_ids import new_object_id
from index.reader import IndexReader
from sa2va_engine.user_error import UserError
from tests.agent_fixtures import one_torch_thread as single_torch_thread, VIDEOS, run_sva
from tests.index_fixtures import dump_tables
from tools.video_chunks import iter_chunk_frames
from tools.video_decode import decode_frames
from tools.video_prober import probe_video

SHARED = ("01_dog.mp4", "06_pingpong.mp4", "08_driving.mp4", "11_polevault.mp4", "14_social_dog_training.mp4")


def settings_like_index_args(db, model=None) -> IndexSettings:
    """`tests.agent_fixtures.INDEX_ARGS` as settings: what `indexed_library` was made with."""
    return IndexSettings(db=db, model=str(model) if model else None, chunk_s=4, overlap_s=1, max_side=256,
                         watch=["the dog"], sweep=False)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Model runs started here (in process, `sva` subprocesses, Ray workers) use one torch thread, like each CPU
    actor: on a small shared machine the default (a thread per core) spins against other processes and runs
    several times slower. The model's results do not depend on the thread count (the last test compares with
    `indexed_library`, built with the default in a whole-suite run); the text vectors do, see the docstring."""
    with single_torch_thread():
        yield


@pytest.fixture(scope="module")
def local_ray():
    import logging

    # install.sh installs the `ray` extra: a missing ray is a broken install, not a reason to skip.
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def single_process_db(one_torch_thread, shared_videos, tracking_checkpoint, tmp_path_factory):
    """The three `indexed_library` videos indexed by `run_index` in this process: what Ray runs must equal."""
    videos = [shared_videos / name for name in VIDEOS]
    settings = settings_like_index_args(tmp_path_factory.mktemp("single") / "index.duckdb", tracking_checkpoint)
    assert run_index([str(v) for v in videos], settings).exit_code == 0
    return settings.db


def _same_frames(a, b) -> bool:
    same_times = [f.time_s for f in a] == [f.time_s for f in b]
    return same_times and all(np.array_equal(x.image, y.image) for x, y in zip(a, b))


@pytest.mark.parametrize("cuts", [None, [3.7, 7.3]], ids=["regular", "chunks-starting-mid-slot"])
def test_worker_windows_decode_the_frames_of_the_single_pass(shared_videos, tmp_path, cuts):
    settings = settings_like_index_args(tmp_path / "unused.duckdb")
    for name in SHARED:
        path = str(shared_videos / name)
        probe = probe_video(path)
        chunks = plan_spans(probe, settings, cuts)
        full = decode_frames(path, sample_fps=settings.sample_fps, max_side=settings.max_side, probe=probe)
        for single in iter_chunk_frames(full, chunks):
            (window,) = decode_chunks(path, probe, [single.chunk], len(chunks) - 1, settings)
            assert window.chunk == single.chunk, (name, single.chunk.index)
            assert _same_frames(window.frames, single.frames), (name, single.chunk.index)
    if cuts:
        # The test means something: a decode started at the cut itself would keep a frame the pass skips.
        path = str(shared_videos / "11_polevault.mp4")
        naive = list(decode_frames(path, sample_fps=2.0, max_side=256, start_s=3.7, end_s=4.5))
        (window,) = decode_chunks(path, probe_video(path), [plan_spans(probe_video(path), settings, cuts)[1]], 99,
                                  settings)
        assert naive[0].time_s < 4.0 and window.frames[0].time_s >= 4.0


def _counts(stages: StageTimes) -> tuple:
    """What a run's stage split counts that does not depend on where chunks were analysed."""
    return stages.frames, stages.chunks, stages.tokens.get("caption"), stages.tokens.get("ground")


class ReversedPool:
    """A pool without Ray that runs the real worker here and hands results back in reverse order."""

    def __init__(self, settings: IndexSettings, alter=None):
        self.worker = EngineWorker(settings)
        self.alter = alter or (lambda work: work)
        self.tasks, self.results = [], []
        self.started, self.size = True, 2

    def submit(self, task):
        self.tasks.append(task)

    def pending(self):
        return len(self.tasks) + len(self.results)

    def drop(self, keep):
        self.tasks = [t for t in self.tasks if keep(t)]

    def next_result(self):
        if not self.results:
            self.results = [(t.key, self.alter(self.worker.analyse(t.path, t.probe, t.chunk, t.last_index)))
                            for t in self.tasks]
            self.tasks = []
        return self.results.pop()


def test_writer_commits_out_of_order_results_in_order(shared_videos, tracking_checkpoint, tmp_path):
    # Two videos whose chunks share texts ("the dog"): a text keeps the vector of its first commit, so the
    # later video's results, which arrive first here, must wait for the earlier video.
    video, other = str(shared_videos / "01_dog.mp4"), str(shared_videos / "08_driving.mp4")
    here = settings_like_index_args(tmp_path / "here.duckdb", tracking_checkpoint)
    single = run_index([video, other], here)
    assert single.exit_code == 0
    pooled = here.model_copy(update={"db": tmp_path / "pooled.duckdb"})
    report = run_index([video, other], pooled, pool=ReversedPool(pooled))
    assert report.exit_code == 0 and [v.chunks_done for v in report.videos] == [3, 2]
    assert dump_tables(pooled.db) == dump_tables(here.db)
    # The workers time decode and the model stages, the writer embed and commit: the run's split counts what the
    # graph's counts (a worker also describes the objects that turn out continued: more describe tokens), and the
    # job keeps it.
    stages = report.stages
    assert _counts(stages) == _counts(single.stages) and stages.chunks == 5 and stages.tokens["caption"] > 0
    assert stages.tokens["describe"] >= single.stages.tokens["describe"]
    assert all(stages.seconds[s] > 0 for s in ("decode", "caption", "ground", "track", "embed", "commit"))
    assert StageTimes.model_validate_json(IndexReader(pooled.db).jobs()[0].stages) == stages

    # A worker describes every object; a failed description fails its chunk only if the object is new (the
    # graph never describes a continued one).
    def describe_fails(work: ChunkWork) -> ChunkWork:
        if work.chunk.index == 0:
            return work
        boom = f"chunk {work.chunk.index} (...) link: RuntimeError: describe boom"
        return work.model_copy(update={"describe_errors": [boom] * len(work.masklets)})

    phrases = dump_tables(here.db)["phrases"]  # (video_id, chunk_index, ordinal, phrase, object_id)
    has_new = {k for v, k, ordinal, _, oid in phrases if v == 1 and oid == new_object_id(1, k, ordinal)}
    expected = ["done"]
    for k in (1, 2):  # after a failed chunk nothing is stored to link to: every object is new
        expected.append("done" if expected[-1] == "done" and k not in has_new else "failed")
    described = here.model_copy(update={"db": tmp_path / "described.duckdb"})
    run_index([video], described, pool=ReversedPool(described, describe_fails))
    chunks = IndexReader(described.db).chunks(video)
    assert [c.status for c in chunks] == expected
    assert all(c.error.endswith("describe boom") for c in chunks if c.status == "failed")


def test_an_unusable_checkpoint_stops_the_batch(shared_videos, tmp_path):
    settings = settings_like_index_args(tmp_path / "i.duckdb", tmp_path / "no-model")
    with pytest.raises(UserError):
        run_index([str(shared_videos / "01_dog.mp4")], settings, pool=ReversedPool(settings))
    assert [j.status for j in IndexReader(settings.db).jobs()] == ["failed"]


def test_chunk_and_video_failures_from_workers(shared_videos, tracking_checkpoint, tmp_path):
    settings = settings_like_index_args(tmp_path / "i.duckdb", tracking_checkpoint)
    dog, pingpong = str(shared_videos / "01_dog.mp4"), str(shared_videos / "06_pingpong.mp4")

    def break_some(work: ChunkWork) -> ChunkWork:
        if work.chunk.index == 1:
            return ChunkWork(chunk=work.chunk, error="chunk 1 (4.0-9.0 s) track: RuntimeError: boom")
        return work

    pool = ReversedPool(settings, break_some)
    report = run_index([dog], settings, pool=pool)
    assert [(v.outcome, v.chunks_done, v.chunks_failed) for v in report.videos] == [("partial", 2, 1)]
    reader = IndexReader(settings.db)
    assert [c.status for c in reader.chunks(dog)] == ["done", "failed", "done"]
    assert reader.chunks(dog)[1].error == "chunk 1 (4.0-9.0 s) track: RuntimeError: boom"

    def undecodable(work: ChunkWork) -> ChunkWork:
        if work.chunk.index >= 1:
            return ChunkWork(chunk=work.chunk, video_error=f"{pingpong}: no frame could be decoded (damaged)",
                             video_problem="no frame could be decoded (damaged)")
        return work

    report = run_index([pingpong], settings, pool=ReversedPool(settings, undecodable))
    (failed,) = report.videos
    assert (failed.outcome, failed.chunks_done) == ("failed", 1) and "damaged" in failed.error
    assert [c.status for c in reader.chunks(pingpong)] == ["done", "pending", "pending"]
    assert reader.video(pingpong).error == "no frame could be decoded (damaged)"
    # A rerun without the damage finishes both videos.
    assert run_index([dog, pingpong], settings, pool=ReversedPool(settings)).exit_code == 0


def test_ray_run_equals_the_single_process_run(single_process_db, shared_videos, tracking_checkpoint, local_ray,
                                                tmp_path):
    from agent.indexing.ray_pool import EnginePool

    videos = [shared_videos / name for name in VIDEOS]
    settings = settings_like_index_args(tmp_path / "ray.duckdb", tracking_checkpoint)
    pool = EnginePool(RayOptions(workers=2), settings)
    try:
        report = run_index([str(v) for v in videos], settings, pool=pool)
        assert pool.size == 2
    finally:
        pool.close()
    assert [v.outcome for v in report.videos] == ["indexed"] * 3
    assert dump_tables(settings.db) == dump_tables(single_process_db)
    (job,) = IndexReader(settings.db).jobs()
    assert job.status == "done"
    # `sva index --ray` records where the time went too: the actors' stages summed, the same frames and tokens.
    single = StageTimes.model_validate_json(IndexReader(single_process_db).jobs()[0].stages)
    stages = StageTimes.model_validate_json(job.stages)
    assert stages == report.stages and _counts(stages) == _counts(single)
    assert stages.seconds["track"] > 0 and stages.seconds["commit"] > 0


class KillOneWorker(SilentProgress):
    """After the first committed chunk, SIGKILL an actor that is working on a chunk."""

    def __init__(self):
        self.pool = None
        self.killed: int | None = None

    def chunk_finished(self, path, chunk_index, end_s, ok):
        if self.killed is None:
            busy = self.pool.busy_pids()
            assert busy, "no worker was busy at the first commit"
            self.killed = busy[0]
            os.kill(self.killed, signal.SIGKILL)


def test_a_worker_killed_mid_run_loses_no_chunk(single_process_db, shared_videos, tracking_checkpoint, local_ray,
                                                tmp_path):
    from agent.indexing.ray_pool import EnginePool

    videos = [shared_videos / name for name in VIDEOS]
    settings = settings_like_index_args(tmp_path / "ray.duckdb", tracking_checkpoint)
    pool = EnginePool(RayOptions(workers=2, max_restarts=2, max_task_retries=2), settings)
    progress = KillOneWorker()
    progress.pool = pool
    try:
        report = run_index([str(v) for v in videos], settings, progress=progress, pool=pool)
        pids_after = pool.worker_pids()
    finally:
        pool.close()
    assert progress.killed is not None and progress.killed not in pids_after, "Ray restarted the killed actor"
    assert [v.outcome for v in report.videos] == ["indexed"] * 3
    assert dump_tables(settings.db) == dump_tables(single_process_db)


def test_cli_ray_flag_on_an_indexed_library_starts_nothing(indexed_library, tmp_path):
    import shutil

    db, videos, _ = indexed_library
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    result = run_sva("index", *map(str, videos), "--db", str(copy), "--model", str(tmp_path / "no-model"),
                     "--chunk-s", "4", "--overlap-s", "1", "--max-side", "256", "--watch", "the dog", "--ray",
                     "--ray-address", "127.0.0.1:1")  # no cluster there: it must not even be contacted
    assert result.returncode == 0, result.stderr
    assert dump_tables(copy) == dump_tables(db)


def test_single_process_run_here_finds_what_sva_index_found(single_process_db, indexed_library):
    here, cli = dump_tables(single_process_db), dump_tables(indexed_library[0])
    exact = lambda tables: {t: rows for t, rows in tables.items() if t not in ("texts", "track_points")}  # noqa: E731
    assert exact(here) == exact(cli)
    assert [r[1] for r in here["texts"]] == [r[1] for r in cli["texts"]]  # same texts; vectors may differ in last bits
    assert len(here["track_points"]) == len(cli["track_points"]) > 0
    for a, b in zip(here["track_points"], cli["track_points"]):
        assert_same_track_point(a, b)


def assert_same_track_point(a: tuple, b: tuple) -> None:
    """Rows of `track_points` (object, video, chunk, time, score, x0, y0, x1, y1, area, mask h, w, counts) that
    differ at most in float rounding: the same object and frame, boxes within a pixel, masks of IoU >= 0.99."""
    from pycocotools import mask as coco_mask

    assert a[:4] == b[:4] and a[10:12] == b[10:12]
    assert a[4] == pytest.approx(b[4], abs=1e-4)
    assert (a[5] is None) == (b[5] is None)
    if a[5] is None:
        return
    assert max(abs(x - y) for x, y in zip(a[5:9], b[5:9])) <= 1
    rles = [{"size": [r[10], r[11]], "counts": r[12].encode("ascii")} for r in (a, b)]
    assert coco_mask.iou([rles[0]], [rles[1]], [False])[0, 0] >= 0.99
