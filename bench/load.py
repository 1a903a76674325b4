"""Load benchmark (#25): concurrent clients asking questions and loading dashboard pages against a big index
while an indexer commits, for a fixed time.

    python -m bench.load [--workdir /tmp/sva-load] [--chunks 10000] [--clients 8] [--seconds 60]

The index is bench/index.py's synthetic one (10 s chunks, 20 sampled frames x 5 objects each: 1e4 chunks =
1e6 track points, 28 h of video), built fresh in --workdir. Then, at once and for --seconds:
- an indexer process commits realistic chunks (5 moving objects, distinct 720p masks, 100 track points) into a
  new video through IndexWriter, one transaction per chunk, as `sva index` does, counting what it committed;
- half the clients are `sva query` users: run_query in their own process, no model (retrieval and the
  index-only routes: events, subject resolution), questions drawn from a fixed list;
- the other half load dashboard pages: a fresh Streamlit session (AppTest of ui/app.py, the server-side work of
  a page load: sign-in check, the page script, its index reads) of Search with a question, Library, a Video
  page, or Jobs, in their own process.
Each client is a separate process (as users' `sva query` processes and dashboard sessions read the file side
by side with the writer). Latency is per operation; an error is any exception, a page exception or a one-line
error other than the synthetic videos' missing files (the bench's videos are rows, not files on disk).
Afterwards every chunk the indexer reported committed must be in the index (no commit lost), and the index
must read.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import statistics
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "find every moment the brown dog jumps", "when does the red car leave the frame", "a cyclist near the shop",
    "every moment the person in a blue coat appears", "a delivery truck stops at the crossing at night",
    "when does the bus start moving", "two pedestrians cross the street in the rain", "the black cat",
]
PAGES = ["search", "library", "video", "jobs"]


def _pct(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    return {"n": len(ordered), "p50_ms": round(1000 * statistics.median(ordered), 1),
            "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
            "max_ms": round(1000 * ordered[-1], 1)}


def _query_client(db: str, seconds: float, seed: int, start_at: float) -> dict:
    from agent.query.query_answer import QuerySettings
    from agent.query.query_graph import run_query

    rng = random.Random(seed)
    settings = QuerySettings(db=Path(db), verify=False, model_parser=False)
    run_query(QUESTIONS[0], settings)  # the embedder and imports load before the clock starts
    _wait(start_at)
    latencies, errors = [], []
    while time.time() < start_at + seconds:
        t = time.perf_counter()
        try:
            answer = run_query(rng.choice(QUESTIONS), settings)
            if answer.errors:
                errors.append("; ".join(answer.errors)[:200])
        except Exception as exc:  # counted, and the client goes on
            errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        latencies.append(time.perf_counter() - t)
    return {"kind": "query", "latencies": latencies, "errors": errors}


def _page_client(db: str, seconds: float, seed: int, start_at: float, workdir: str) -> dict:
    os.environ.update(SVA_DB=db, SVA_UI_HOST="127.0.0.1", SVA_CACHE_DIR=str(Path(workdir) / "cache"))
    os.environ.pop("SVA_MODEL", None)
    from streamlit.testing.v1 import AppTest

    rng = random.Random(seed)
    app = str(ROOT / "ui" / "app.py")

    def load(page: str) -> list[str]:
        at = AppTest.from_file(app, default_timeout=300).run()
        if page == "search":
            at.toggle[0].set_value(False)  # retrieval only: no model on the dashboard's worker
            at.text_input[0].input(rng.choice(QUESTIONS))
            at.button(key="FormSubmitter:ask-Search").click()
            at.run()
        elif page == "video":
            at.switch_page("page_video.py").run()
            at.query_params["video"] = str(rng.randint(1, 20))
            at.run()
        else:
            at.switch_page(f"page_{page}.py").run()
        problems = [f"exception: {e.value}"[:200] for e in at.exception]
        # The synthetic videos are index rows without files: "moved or deleted" is the page working as meant.
        problems += [e.value[:200] for e in at.error if "moved or been deleted" not in e.value]
        return problems

    load("library")  # imports and the first session before the clock starts
    _wait(start_at)
    latencies, errors, by_page = [], [], {p: [] for p in PAGES}
    while time.time() < start_at + seconds:
        page = rng.choice(PAGES)
        t = time.perf_counter()
        try:
            errors += load(page)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        latencies.append(time.perf_counter() - t)
        by_page[page].append(latencies[-1])
    return {"kind": "page", "latencies": latencies, "errors": errors, "by_page": by_page}


def _indexer(db: str, seconds: float, start_at: float, workdir: str) -> dict:
    import numpy as np

    from bench.index import OBJECTS_PER_CHUNK, _RandomEmbedder, _realistic_chunk, CHUNK_S, FRAME_H, FRAME_W
    from index.video_plan import VideoFacts
    from index.writer import IndexWriter

    writer = IndexWriter(Path(db), embedder=_RandomEmbedder())
    video = Path(workdir) / "live_camera.mp4"
    video.write_bytes(os.urandom(1 << 16))
    n = 100_000
    plan = writer.begin_video(video, VideoFacts(duration_s=n * CHUNK_S, fps=25.0, width=FRAME_W, height=FRAME_H),
                              [(k * CHUNK_S, (k + 1) * CHUNK_S) for k in range(n)])
    rng = np.random.default_rng(7)
    _wait(start_at)
    committed, latencies, errors = [], [], []
    k = 0
    while time.time() < start_at + seconds:
        analysis = _realistic_chunk(str(video), k, rng)
        t = time.perf_counter()
        try:
            writer.commit_chunk(plan.video_id, analysis, links=[None] * OBJECTS_PER_CHUNK)
            committed.append(k)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        latencies.append(time.perf_counter() - t)
        k += 1
    return {"kind": "indexer", "video_id": plan.video_id, "committed": committed, "latencies": latencies,
            "errors": errors}


def _wait(start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))


def _run(job):
    fn, args = job
    try:
        return fn(*args)
    except Exception:
        return {"kind": "crashed", "latencies": [], "errors": [traceback.format_exc()[-500:]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sva-load"))
    parser.add_argument("--chunks", type=int, default=10_000, help="chunks of the synthetic index (x100 track points)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds every client has to import and run once")
    args = parser.parse_args()

    from bench.index import build
    from index.connection import open_read

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    db = args.workdir / "index.duckdb"
    print(f"building a {args.chunks * 100:,}-track-point index ...", file=sys.stderr)
    built = build(db, args.chunks, distinct_phrases=2000)
    start_at = time.time() + args.warmup  # every client imports, loads the embedder and runs once first
    jobs = [(_indexer, (str(db), args.seconds, start_at, str(args.workdir)))]
    for i in range(args.clients):
        if i % 2 == 0:
            jobs.append((_query_client, (str(db), args.seconds, i, start_at)))
        else:
            jobs.append((_page_client, (str(db), args.seconds, i, start_at, str(args.workdir))))
    print(f"{args.clients} clients and an indexer for {args.seconds:g} s ...", file=sys.stderr)
    with mp.get_context("spawn").Pool(len(jobs)) as pool:
        results = pool.map(_run, jobs, chunksize=1)

    indexer = next(r for r in results if r["kind"] == "indexer")
    with open_read(db) as con:
        stored = {k for (k,) in con.execute("SELECT chunk_index FROM chunks WHERE video_id = ? AND status = 'done'",
                                            [indexer["video_id"]]).fetchall()}
        points = con.execute("SELECT count(*) FROM track_points").fetchone()[0]
    lost = sorted(set(indexer["committed"]) - stored)
    queries = [x for r in results if r["kind"] == "query" for x in r["latencies"]]
    pages = [x for r in results if r["kind"] == "page" for x in r["latencies"]]
    by_page = {p: _pct([x for r in results if r["kind"] == "page" for x in r["by_page"][p]]) for p in PAGES}
    errors = [e for r in results for e in r["errors"]]
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "index": built, "clients": args.clients, "seconds": args.seconds,
        "query": _pct(queries), "page_load": _pct(pages), "page_load_by_page": by_page,
        "operations": len(queries) + len(pages), "errors": len(errors), "error_samples": errors[:5],
        "indexer": {"commits": len(indexer["committed"]), **_pct(indexer["latencies"])},
        "commits_lost": len(lost), "track_points_after": points,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
