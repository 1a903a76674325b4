"""Scale benchmark (issue #8): indexing throughput of one process vs a local Ray with N engine actors on the
same videos in the same run, and what an idle scheduler costs per tick.

    python bench/scale.py [--workdir /tmp/sva-scale] [--copies 2] [--workers 2] [--rounds 2] [--ticks 40]
                          [--single-threads 1]

Inputs: the shared test videos (`shared/videos/*.mp4`), each copied `--copies` times under new names (a copy
is a new video to the index), indexed with the settings the tests use (4 s chunks, 1 s overlap, 256 px,
`--watch "the dog"`) and the tiny tracking checkpoint of the tests (`write_tiny_checkpoint(..., objects_present
=True)`): random weights, so every caption runs to its 128-token cap and model time dominates a chunk, as it
does with a real checkpoint, only smaller.

Each index run is a fresh subprocess on a fresh DB, alternating single / Ray, `--rounds` times:
- single: `run_index` in one process, torch with `--single-threads` threads (default 1: on a small machine
  shared with other work, torch's default of one spinning thread per core can run several times slower;
  `--single-threads 0` measures the default);
- ray: `run_index(..., ray=RayOptions(workers=N))`, a local Ray started for the run (`num_cpus` = cores),
  N CPU actors with one torch thread each, this process the one writer.
Then, without Ray, the CPU work per chunk of each path (one thread, sequential): the single process's vs a
worker's (it decodes its own chunk window and describes every object, see agent/indexing/ray_analysis.py).
"chunks/s" is chunks committed / wall time of the whole run (start-up included: Ray, actor imports, model
loads); "steady" is chunks/s between the first and the last commit. Both runs must end with identical DBs.

Scheduler: `ScheduleRunner.sync` (the tick: re-read the schedules table, compare) with 10 schedules, and an
idle `sva schedule run --sync-s 0.5` process: CPU seconds per tick, from the difference of two runs with
different `--max-ticks` (so start-up cancels). Also one scheduled run over the already indexed folder (all
files unchanged): what an idle *due* schedule costs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "videos"


def _one_run(mode: str, db: Path, model: Path, folder: Path, workers: int, threads: int) -> dict:
    """Child process: index `folder` once, report timings as JSON. `threads`: torch threads of this process, the
    single process's model and, in both modes, the writer's text embedder (0: torch's default, one per core).
    The embedder's vectors differ in the last bits with the thread count, so both modes use the same."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    if mode == "per-chunk":
        return _per_chunk_cost(model, folder)
    from agent.indexing.index_report import SilentProgress
    from agent.indexing.index_settings import IndexSettings
    from agent.indexing.indexer import run_index
    from agent.indexing.ray_options import RayOptions

    commits: list[float] = []

    class Clock(SilentProgress):
        def chunk_finished(self, path, chunk_index, end_s, ok):
            commits.append(time.perf_counter())

    settings = IndexSettings(db=db, model=str(model), chunk_s=4, overlap_s=1, max_side=256, watch=["the dog"])
    ray = RayOptions(workers=workers) if mode == "ray" else None
    start = time.perf_counter()
    report = run_index([str(folder)], settings, Clock(), ray=ray)
    wall = time.perf_counter() - start
    chunks = sum(v.chunks_done for v in report.videos)
    steady = (len(commits) - 1) / (commits[-1] - commits[0]) if len(commits) > 1 else float("nan")
    return {"mode": mode, "wall_s": wall, "chunks": chunks, "first_commit_s": commits[0] - start if commits else None,
            "chunks_per_s": chunks / wall, "steady_chunks_per_s": steady, "exit_code": report.exit_code,
            "torch_threads": threads if mode == "single" else 1}


def _per_chunk_cost(model: Path, folder: Path) -> dict:
    """CPU work per chunk on each path, one thread, one process, engine loaded: the single-process run
    (`run_index`: one decode pass per video, analysis, link, embed, commit) vs what a Ray worker does per chunk
    (decode its own window, analyse, describe every object), without any Ray."""
    from agent.indexing.chunk_frames import decode_chunks
    from agent.indexing.index_settings import IndexSettings
    from agent.indexing.indexer import run_index
    from agent.indexing.ray_worker import EngineWorker
    from agent.indexing.chunk_committer import plan_spans
    from tools.engine_session import load_engine
    from tools.video_prober import probe_video

    videos = sorted(folder.glob("*_0.mp4"))
    settings = IndexSettings(db=folder.parent / "per_chunk.duckdb", model=str(model), chunk_s=4, overlap_s=1,
                             max_side=256, watch=["the dog"])
    load_engine(settings.model, settings.device)
    start = time.perf_counter()
    chunks = sum(v.chunks_done for v in run_index([str(v) for v in videos], settings).videos)
    single = time.perf_counter() - start
    worker = EngineWorker(settings)
    decode = analyse = 0.0
    for video in videos:
        probe = probe_video(video)
        plan = plan_spans(probe, settings)
        for chunk in plan:
            t0 = time.perf_counter()
            (current,) = decode_chunks(str(video), probe, [chunk], len(plan) - 1, settings)
            t1 = time.perf_counter()
            worker.analyser.analyse(str(video), current)
            decode, analyse = decode + t1 - t0, analyse + time.perf_counter() - t1
    return {"chunks": chunks, "single_s_per_chunk": single / chunks, "worker_decode_s_per_chunk": decode / chunks,
            "worker_analyse_s_per_chunk": analyse / chunks}


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cpu_of(cmd: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) for one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_scheduler(work: Path, db: Path, folder: Path, model: Path, ticks: int) -> dict:
    from agent.indexing.index_settings import IndexSettings
    from agent.schedule.schedule_runner import ScheduleRunner
    from agent.schedule.schedule_spec import ScheduledRun
    from agent.schedule.schedule_store import ScheduleStore

    sched_db = work / "schedules.duckdb"
    shutil.copy(db, sched_db)
    store = ScheduleStore(sched_db)
    run = ScheduledRun.of(IndexSettings(db=sched_db, model=str(model), chunk_s=4, overlap_s=1, max_side=256,
                                        watch=["the dog"]))
    idle = [store.add(folder, run, every_s=86400 * 365) for _ in range(9)]
    for schedule in idle:  # an interval schedule is due when added; these must not be due during the bench
        store.set_next_run(schedule.schedule_id, schedule.created_at + timedelta(days=365))
    due = store.add(folder, run, every_s=86400 * 365)  # its runs below set its next run a year ahead

    class FakeScheduler:  # sync() only adds/removes jobs; count them, do not schedule
        def __init__(self):
            self.jobs = {}

        def add_job(self, func, trigger, args, id, next_run_time):
            self.jobs[id] = next_run_time

        def remove_job(self, id):
            self.jobs.pop(id)

    runner = ScheduleRunner(sched_db, echo=lambda line: None)
    runner._scheduler = FakeScheduler()
    runner.sync()  # first sync adds the 10 jobs; the timed ones find nothing changed (an idle tick)
    times = []
    for _ in range(ticks):
        t = time.perf_counter()
        runner.sync()
        times.append(time.perf_counter() - t)

    idle_runs = []
    for _ in range(3):
        t = time.perf_counter()
        outcome = runner.run_schedule(due.schedule_id)
        idle_runs.append(time.perf_counter() - t)
        assert outcome.indexed == 0 and outcome.status == "done", outcome

    env_cmd = [sys.executable, "-m", "agent.cli", "schedule", "run", "--db", str(sched_db), "--sync-s", "0.5"]
    few, many = 2, 2 + ticks
    wall_few, cpu_few = _cpu_of([*env_cmd, "--max-ticks", str(few)])
    wall_many, cpu_many = _cpu_of([*env_cmd, "--max-ticks", str(many)])
    return {
        "sync_ms_mean": 1000 * statistics.mean(times), "sync_ms_p95": 1000 * sorted(times)[int(0.95 * len(times)) - 1],
        "idle_due_run_s": min(idle_runs),
        "process_cpu_s_per_tick": (cpu_many - cpu_few) / (many - few),
        "process_wall_s_per_tick": (wall_many - wall_few) / (many - few),
        "process_start_cpu_s": cpu_few,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/sva-scale"))
    ap.add_argument("--copies", type=int, default=2, help="copies of each shared video")
    ap.add_argument("--workers", type=int, default=2, help="Ray engine actors")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--ticks", type=int, default=40)
    ap.add_argument("--single-threads", type=int, default=1,
                    help="torch threads of the single process (0: torch's default, one per core)")
    ap.add_argument("--child", nargs=6, metavar=("MODE", "DB", "MODEL", "FOLDER", "WORKERS", "THREADS"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, db, model, folder, workers, threads = args.child
        print(json.dumps(_one_run(mode, Path(db), Path(model), Path(folder), int(workers), int(threads))))
        return

    from sa2va_engine.testing.tiny_checkpoint import write_tiny_checkpoint
    from tests.index_fixtures import dump_tables

    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    folder = work / "videos"
    folder.mkdir(parents=True)
    for video in sorted(SHARED.glob("*.mp4")):
        for copy in range(args.copies):
            shutil.copy(video, folder / f"{video.stem}_{copy}.mp4")
    model = write_tiny_checkpoint(work / "ckpt", "qwen3_vl", seed=0, objects_present=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    results: dict[str, list[dict]] = {"single": [], "ray": []}
    for round_ in range(args.rounds):
        for mode in ("single", "ray"):
            db = work / f"{mode}{round_}.duckdb"
            r = _child([mode, str(db), str(model), str(folder), str(args.workers), str(args.single_threads)])
            results[mode].append(r)
            print(f"round {round_} {mode:6s}: {r['chunks']} chunks in {r['wall_s']:.1f} s = {r['chunks_per_s']:.3f} "
                  f"chunks/s (steady {r['steady_chunks_per_s']:.3f}, first commit after {r['first_commit_s']:.1f} s)",
                  flush=True)
    same = dump_tables(work / "single0.duckdb") == dump_tables(work / "ray0.duckdb")
    print(f"single and ray DBs identical: {same}")
    per_chunk = _child(["per-chunk", "-", str(model), str(folder), "0", "1"])
    print(f"per chunk, one thread: single path {per_chunk['single_s_per_chunk']:.2f} s; worker path: decode "
          f"{per_chunk['worker_decode_s_per_chunk']:.2f} s + analyse {per_chunk['worker_analyse_s_per_chunk']:.2f} s",
          flush=True)

    sched = bench_scheduler(work, work / "single0.duckdb", folder, model, args.ticks)
    best = {m: max(rs, key=lambda r: r["chunks_per_s"]) for m, rs in results.items()}
    summary = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "videos": len(list(folder.glob("*.mp4"))), "workers": args.workers,
        "single": best["single"], "ray": best["ray"],
        "speedup_total": best["ray"]["chunks_per_s"] / best["single"]["chunks_per_s"],
        "speedup_steady": best["ray"]["steady_chunks_per_s"] / best["single"]["steady_chunks_per_s"],
        "identical_dbs": same, "per_chunk": per_chunk, "scheduler": sched, "all_runs": results,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
