"""Index benchmark (issue #4): search and moment latency on a big synthetic index, commit latency on it, and
DuckDB bytes per hour of indexed video.

    python bench/index.py [--workdir /tmp/sva-bench] [--chunks 100000] [--queries 50] [--distinct-phrases 10000]

Synthetic index (generated in DuckDB with range() and INSERT ... SELECT, never committed to git):
- 10 s chunks, 1 h videos (360 chunks each); 2 fps sampling -> 20 frames per chunk; 5 tracked objects per
  chunk, each object continued over 3 chunks (30 s); every object present on every sampled frame.
  So 1e5 chunks = 278 h of video = 1e7 track points.
- Masks: 512 distinct COCO RLEs of 1280x720 ellipses, reused (DuckDB's dictionary compression makes the big
  file smaller than real masks would; the separate bytes/hour measurement uses distinct masks).
- Text vectors: random unit vectors, one per distinct text (as the writer stores them): every chunk caption
  is distinct (1e5); the 5e5 phrase mentions draw from --distinct-phrases texts (default 1e4; phrases such as
  "a person in a blue coat" repeat across chunks and videos). --distinct-phrases 0 leaves phrases out.

Latencies are per call through `IndexReader` (read-only connection, parameters, external access off):
"cold" opens the file per call (what `sva query` does, and any reader's first call after a commit), "warm"
is the default reader whose connection lingers between calls (the dashboard while nothing is committed).
Query vectors are stored vectors plus noise, so top hits are real neighbours; "embed_query" is the separate
cost of turning query text into a vector with the real model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from index.connection import open_read, open_write  # noqa: E402
from index.embedder import MODEL_NAME  # noqa: E402
from index.reader import IndexReader  # noqa: E402
from index.schema import EMBEDDING_DIM, TEXT_ID_SQL, quantized_columns, vector_max  # noqa: E402
from index.video_plan import VideoFacts  # noqa: E402
from index.writer import IndexWriter  # noqa: E402
from sa2va_engine.masklet import Masklet, Rle, TrackPoint  # noqa: E402
from tools.chunk_analysis import ChunkAnalysis, GroundedPhrase  # noqa: E402

CHUNK_S = 10.0
CHUNKS_PER_VIDEO = 360
FRAMES_PER_CHUNK = 20  # 2 fps
OBJECTS_PER_CHUNK = 5
OBJECT_LIFETIME_CHUNKS = 3
FRAME_H, FRAME_W = 720, 1280
N_TEMPLATES = 512

_SUBJECTS = ["a red car", "a white van", "a cyclist", "a person in a blue coat", "a brown dog", "a delivery truck",
             "two pedestrians", "a child", "a bus", "a motorbike", "a black cat", "a woman with a stroller"]
_ACTIONS = ["drives past the gate", "stops at the crossing", "walks along the pavement", "turns left",
            "waits at the light", "crosses the street", "parks near the entrance", "runs across the yard"]
_PLACES = ["in the rain", "at dusk", "in bright sunlight", "near the shop", "behind the fence", "at night"]


def _sql_list(words: list[str]) -> str:
    return "[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]"


def _ellipse_mask(cx: float, cy: float, ax: float, ay: float) -> np.ndarray:
    ys, xs = np.ogrid[:FRAME_H, :FRAME_W]
    return ((xs - cx) / ax) ** 2 + ((ys - cy) / ay) ** 2 <= 1.0


def _templates(rng: np.random.Generator) -> list[tuple]:
    out = []
    for i in range(N_TEMPLATES):
        ax, ay = rng.uniform(20, 180), rng.uniform(20, 160)
        cx, cy = rng.uniform(ax, FRAME_W - ax), rng.uniform(ay, FRAME_H - ay)
        mask = _ellipse_mask(cx, cy, ax, ay)
        rle = Rle.encode(mask)
        ys, xs = np.nonzero(mask)
        out.append((i, float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1), rle.area(), rle.counts))
    return out


def build(db: Path, n_chunks: int, distinct_phrases: int) -> dict:
    """The synthetic index, straight into the tables the writer fills (same schema, same row layout)."""
    n_points = n_chunks * OBJECTS_PER_CHUNK * FRAMES_PER_CHUNK
    n_videos = -(-n_chunks // CHUNKS_PER_VIDEO)
    templates = _templates(np.random.default_rng(0))
    # g = global chunk number: video v = g // 360 + 1, chunk k = g % 360; j = phrase ordinal in the chunk.
    v, k = f"(g // {CHUNKS_PER_VIDEO} + 1)", f"(g % {CHUNKS_PER_VIDEO})"
    g_first = f"(g - {k} % {OBJECT_LIFETIME_CHUNKS})"  # the chunk where the object was first seen
    obj = f"({v} * 1000000000000 + ({k} - {k} % {OBJECT_LIFETIME_CHUNKS}) * 10000 + j)::BIGINT"
    phrase = f"('phrase ' || (({g_first} * 7919 + j * 104729) % {max(distinct_phrases, 1)}))"
    caption = (f"list_extract({_sql_list(_SUBJECTS)}, (g * 7) % {len(_SUBJECTS)} + 1) || ' ' || "
               f"list_extract({_sql_list(_ACTIONS)}, (g * 5) % {len(_ACTIONS)} + 1) || ' ' || "
               f"list_extract({_sql_list(_PLACES)}, (g * 3) % {len(_PLACES)} + 1) || ' #' || g")
    t0 = time.perf_counter()
    with open_write(db) as con:
        con.execute("CREATE TEMP TABLE tpl (id INTEGER, x0 FLOAT, y0 FLOAT, x1 FLOAT, y1 FLOAT, area INTEGER, counts VARCHAR)")
        con.executemany("INSERT INTO tpl VALUES (?, ?, ?, ?, ?, ?, ?)", templates)
        con.execute(f"""
            INSERT INTO videos
            SELECT v, '/bench/cam' || lpad(v::VARCHAR, 4, '0') || '.mp4', 'blake2b:' || md5(v::VARCHAR),
                   2000000000, 0, 3600.0, 25.0, {FRAME_W}, {FRAME_H}, '{{}}', 'done', NULL,
                   least({CHUNKS_PER_VIDEO}, {n_chunks} - (v - 1) * {CHUNKS_PER_VIDEO})
            FROM range(1, {n_videos} + 1) t(v)""")
        con.execute(f"""
            INSERT INTO chunks
            SELECT {v}, {k}, {k} * {CHUNK_S}, ({k} + 1) * {CHUNK_S}, 'done', {caption}, '',
                   [{k} * {CHUNK_S} + f * 0.5 for f in range({FRAMES_PER_CHUNK})], NULL
            FROM range({n_chunks}) t(g) ORDER BY g""")
        con.execute(f"""
            INSERT INTO objects
            SELECT {obj}, {v}, {k}, {phrase}, NULL, {k} * {CHUNK_S},
                   least({k} + {OBJECT_LIFETIME_CHUNKS}, {CHUNKS_PER_VIDEO}) * {CHUNK_S} - 0.5
            FROM range({n_chunks}) t(g), range({OBJECTS_PER_CHUNK}) o(j)
            WHERE {k} % {OBJECT_LIFETIME_CHUNKS} = 0 ORDER BY g, j""")
        con.execute(f"""
            INSERT INTO phrases
            SELECT {v}, {k}, j, {phrase}, {obj}
            FROM range({n_chunks}) t(g), range({OBJECTS_PER_CHUNK}) o(j) ORDER BY g, j""")
        t_points = time.perf_counter()
        per_chunk = OBJECTS_PER_CHUNK * FRAMES_PER_CHUNK
        con.execute(f"""
            INSERT INTO track_points
            SELECT {obj}, {v}, {k}, {k} * {CHUNK_S} + f * 0.5, (0.5 + ((i * 37) % 50) / 100.0)::FLOAT,
                   m.x0, m.y0, m.x1, m.y1, m.area, {FRAME_H}, {FRAME_W}, m.counts
            FROM (SELECT i, i // {per_chunk} AS g, (i // {FRAMES_PER_CHUNK}) % {OBJECTS_PER_CHUNK} AS j,
                         i % {FRAMES_PER_CHUNK} AS f FROM range({n_points}) t(i)) s
            JOIN tpl m ON m.id = (s.i * 7919) % {N_TEMPLATES}
            ORDER BY s.i""")
        points_s = time.perf_counter() - t_points
        t_vec = time.perf_counter()
        text_id = TEXT_ID_SQL.format(model=f"'{MODEL_NAME}'", text="text")
        _insert_random_vectors(con, "SELECT caption AS text FROM chunks")
        con.execute(f"""
            INSERT INTO text_refs
            SELECT {text_id}, video_id, chunk_index, 'caption', -1, NULL, start_s, end_s
            FROM (SELECT caption AS text, * FROM chunks) ORDER BY video_id, chunk_index""")
        if distinct_phrases > 0:
            _insert_random_vectors(con, "SELECT DISTINCT phrase AS text FROM phrases")
            con.execute(f"""
                INSERT INTO text_refs
                SELECT {text_id}, video_id, chunk_index, 'phrase', ordinal, object_id, chunk_index * {CHUNK_S},
                       chunk_index * {CHUNK_S} + {CHUNK_S} - 0.5
                FROM (SELECT phrase AS text, * FROM phrases) ORDER BY video_id, chunk_index, ordinal""")
        vectors_s = time.perf_counter() - t_vec
        n_vectors, n_refs = con.execute(
            "SELECT (SELECT count(*) FROM texts), (SELECT count(*) FROM text_refs)").fetchone()
        con.execute("CHECKPOINT")
    return {
        "videos": n_videos, "chunks": n_chunks, "track_points": n_points, "text_vectors": n_vectors,
        "text_refs": n_refs, "hours_of_video": n_chunks * CHUNK_S / 3600, "build_s": time.perf_counter() - t0,
        "track_points_s": points_s, "vectors_s": vectors_s, "db_bytes": db.stat().st_size,
    }


def _insert_random_vectors(con, texts_sql: str) -> None:
    """A random unit vector for each distinct text the query yields (column `text`)."""
    text_id = TEXT_ID_SQL.format(model=f"'{MODEL_NAME}'", text="text")
    con.execute(f"""
        INSERT INTO texts (text_id, text, model, vec, qvec, qscale)
        WITH raw AS (SELECT text, [random()::FLOAT - 0.5 for x in range({EMBEDDING_DIM})] AS v FROM ({texts_sql})),
        normed AS (SELECT text, v, sqrt(list_sum([x * x for x in v])) AS n FROM raw),
        unit AS (SELECT text, [x / n for x in v]::FLOAT[{EMBEDDING_DIM}] AS v FROM normed)
        SELECT {text_id}, text, '{MODEL_NAME}', v, {quantized_columns("v")}
        FROM (SELECT text, v, {vector_max("v")} AS vmax FROM unit)""")


def _pct(samples: list[float]) -> dict:
    ms = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1)}


def _query_vectors(db: Path, n: int, rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Stored vectors plus noise (cosine ~0.8 to the original): captions for search, phrases for moments."""
    with open_read(db) as con:
        n_chunks = con.execute("SELECT count(*) FROM chunks").fetchone()[0]
        picks = [(int(g), int(j)) for g, j in zip(rng.integers(0, n_chunks, n), rng.integers(0, OBJECTS_PER_CHUNK, n))]

        def stored(kind, g, ordinal):
            return con.execute(
                "SELECT t.vec FROM text_refs r JOIN texts t USING (text_id) "
                "WHERE r.video_id = ? AND r.chunk_index = ? AND r.kind = ? AND r.ordinal = ?",
                [g // CHUNKS_PER_VIDEO + 1, g % CHUNKS_PER_VIDEO, kind, ordinal],
            ).fetchone()

        caps = [stored("caption", g, -1) for g, _ in picks]
        phr = [r for r in (stored("phrase", g, j) for g, j in picks) if r is not None]

    def noisy(v):
        v = np.asarray(v, dtype=np.float32)
        noise = rng.standard_normal(EMBEDDING_DIM).astype(np.float32)
        q = v + 0.75 * noise / np.linalg.norm(noise)
        return q / np.linalg.norm(q)

    caption_qs = [noisy(r[0]) for r in caps]
    phrase_qs = [noisy(r[0]) for r in phr] or caption_qs
    return caption_qs, phrase_qs


def time_reads(db: Path, n_queries: int) -> dict:
    """cold: a fresh connection per call (`sva query`, or the first call after a commit); warm: the default
    reader, whose connection lingers between calls (the dashboard while no commit intervenes)."""
    rng = np.random.default_rng(7)
    caption_qs, phrase_qs = _query_vectors(db, n_queries, rng)
    out = {}
    for mode, reader in (("cold", IndexReader(db, linger_s=0)), ("warm", IndexReader(db))):
        for label, fn, qs in (
            ("search_top50", lambda q: reader.search(q, k=50), caption_qs),
            ("moments_top50", lambda q: reader.find_moments(q, k=50, gap_s=2.0, min_len_s=2.0), phrase_qs),
        ):
            fn(qs[0])  # first touch of the file (and, warm, of the cache)
            samples = []
            for q in qs:
                t = time.perf_counter()
                fn(q)
                samples.append(time.perf_counter() - t)
            out[f"{label}_{mode}"] = _pct(samples)
        reader.close()
    out.update(exact_scan_comparison(db, caption_qs))
    moments = IndexReader(db, linger_s=0).find_moments(phrase_qs[0], k=50)
    out["moments_example"] = {"moments": len(moments), "evidence_with_track_times": sum(
        1 for m in moments for e in m.evidence if e.track_times)}
    return out


# What search did before schema v4: one exact pass over every float vector. Kept here as the reference the
# two-pass search (int8 shortlist, exact rescoring) is checked and timed against.
_EXACT_TOP50 = f"""
WITH top AS (
    SELECT text_id, array_inner_product(vec, $q::FLOAT[{EMBEDDING_DIM}]) AS score FROM texts WHERE model = $model
    ORDER BY score DESC, text_id LIMIT 50
)
SELECT r.video_id, r.chunk_index, r.kind, r.ordinal, top.score FROM top JOIN text_refs r USING (text_id)
ORDER BY top.score DESC, r.video_id, r.chunk_index, r.kind, r.ordinal LIMIT 50
"""


def exact_scan_comparison(db: Path, queries: list[np.ndarray]) -> dict:
    """Same results as the exact scan? And its time on fresh connections, for the ratio."""
    reader = IndexReader(db, linger_s=0)
    same, max_score_diff, cold = 0, 0.0, []
    for q in queries:
        t = time.perf_counter()
        with open_read(db) as con:
            exact = con.execute(_EXACT_TOP50, {"q": q.tolist(), "model": MODEL_NAME}).fetchall()
        cold.append(time.perf_counter() - t)
        hits = reader.search(q, k=50)
        got = [(h.video_id, h.chunk_index, h.kind, h.score) for h in hits]
        same += [g[:3] for g in got] == [(e[0], e[1], e[2]) for e in exact]
        max_score_diff = max([max_score_diff] + [abs(g[3] - e[4]) for g, e in zip(got, exact)])
    return {"exact_scan_search_top50_cold": _pct(cold), "same_top50_as_exact_scan": f"{same}/{len(queries)}",
            "max_score_diff_vs_exact": max_score_diff}


def time_query_embedding(n: int = 20) -> dict:
    """Text -> vector with the real MiniLM on CPU, once the model is loaded (load time reported apart)."""
    from index.embedder import default_embedder

    t = time.perf_counter()
    model = default_embedder()
    model.embed(["warm up"])
    load_s = time.perf_counter() - t
    samples = []
    for i in range(n):
        t = time.perf_counter()
        model.embed([f"a person in a red jacket walking a dog near the gate {i}"])
        samples.append(time.perf_counter() - t)
    return {"model_load_s": round(load_s, 2)} | _pct(samples)


class _RandomEmbedder:
    model_name = MODEL_NAME

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def embed(self, texts):
        v = self.rng.standard_normal((len(texts), EMBEDDING_DIM)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def _realistic_chunk(video: str, k: int, rng: np.random.Generator) -> ChunkAnalysis:
    """5 objects moving across a 1280x720 frame: every mask distinct, as in real footage."""
    times = [k * CHUNK_S + f * 0.5 for f in range(FRAMES_PER_CHUNK)]
    phrases = []
    for j in range(OBJECTS_PER_CHUNK):
        ax, ay = rng.uniform(30, 160), rng.uniform(30, 140)
        x, y = rng.uniform(ax, FRAME_W - ax), rng.uniform(ay, FRAME_H - ay)
        dx, dy = rng.uniform(-20, 20), rng.uniform(-10, 10)
        points = []
        for f, t in enumerate(times):
            cx = float(np.clip(x + dx * f, ax, FRAME_W - ax))
            cy = float(np.clip(y + dy * f, ay, FRAME_H - ay))
            mask = _ellipse_mask(cx, cy, ax * (1 + 0.01 * f), ay)
            rle = Rle.encode(mask)
            ys, xs = np.nonzero(mask)
            points.append(TrackPoint(time_s=t, present=True, score=float(rng.uniform(0.6, 1.0)),
                                     box=(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)),
                                     area=rle.area(), mask=rle))
        name = _SUBJECTS[(k + j) % len(_SUBJECTS)]
        phrases.append(GroundedPhrase(phrase=name, masklet=Masklet(expression=name, points=points)))
    caption = (f"{_SUBJECTS[k % len(_SUBJECTS)]} {_ACTIONS[k % len(_ACTIONS)]} {_PLACES[k % len(_PLACES)]}, "
               f"while {_SUBJECTS[(k + 3) % len(_SUBJECTS)]} {_ACTIONS[(k + 5) % len(_ACTIONS)]}")
    return ChunkAnalysis(video_path=video, chunk_index=k, start_s=k * CHUNK_S, end_s=(k + 1) * CHUNK_S,
                         frame_times=times, caption=caption,
                         grounded_caption=" ".join(f"<p>{p.phrase}</p> [SEG]" for p in phrases), phrases=phrases)


def _index_realistic(writer: IndexWriter, video: Path, n_chunks: int, rng, timings: list[float] | None = None,
                     checkpoints: dict[int, int] | None = None) -> None:
    plan = writer.begin_video(video, VideoFacts(duration_s=n_chunks * CHUNK_S, fps=25.0, width=FRAME_W,
                                                height=FRAME_H), [(k * CHUNK_S, (k + 1) * CHUNK_S) for k in range(n_chunks)])
    for k in plan.pending_chunks:
        analysis = _realistic_chunk(str(video), k, rng)
        prev = writer.chunk_object_ids(plan.video_id, k - 1) if k % OBJECT_LIFETIME_CHUNKS else []
        links = [prev[j] if prev else None for j in range(OBJECTS_PER_CHUNK)]
        t = time.perf_counter()
        writer.commit_chunk(plan.video_id, analysis, links=links,
                            descriptions=[f"{p.phrase}, seen in chunk {k}" if j == 0 else None
                                          for j, p in enumerate(analysis.phrases)])
        if timings is not None:
            timings.append(time.perf_counter() - t)
        if checkpoints is not None and (k + 1) in checkpoints:
            checkpoints[k + 1] = writer.db.stat().st_size


def time_commits(db: Path, workdir: Path, n: int) -> dict:
    """Commit latency on the big file: open, one chunk's rows (100 track points with 720p masks), close."""
    video = workdir / "commit_bench.mp4"
    video.write_bytes(os.urandom(1 << 20))
    timings: list[float] = []
    _index_realistic(IndexWriter(db, embedder=_RandomEmbedder()), video, n, np.random.default_rng(3), timings)
    return _pct(timings)


def bytes_per_hour(workdir: Path, n_chunks: int = 120) -> dict:
    """Real writer, distinct masks: DB growth between chunk 30 and chunk n_chunks, scaled to one hour."""
    db = workdir / "per_hour.duckdb"
    video = workdir / "per_hour.mp4"
    video.write_bytes(os.urandom(1 << 20))
    sizes = {30: 0, n_chunks: 0}
    t = time.perf_counter()
    _index_realistic(IndexWriter(db, embedder=_RandomEmbedder(1)), video, n_chunks, np.random.default_rng(5),
                     checkpoints=sizes)
    per_chunk = (sizes[n_chunks] - sizes[30]) / (n_chunks - 30)
    with open_read(db) as con:
        rle_bytes = con.execute("SELECT avg(strlen(mask_counts)) FROM track_points").fetchone()[0]
    return {"bytes_per_hour": per_chunk * 3600 / CHUNK_S, "chunks_measured": n_chunks - 30,
            "avg_rle_chars": rle_bytes, "seconds": time.perf_counter() - t}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", type=Path, default=None, help="scratch directory (default: a new one in /tmp)")
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--commits", type=int, default=20)
    ap.add_argument("--distinct-phrases", type=int, default=10_000,
                    help="distinct phrase texts across the index (0: no phrase vectors, only captions)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch files")
    args = ap.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sva-bench-", dir="/tmp"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "bench.duckdb"
    for stale in (db, db.with_name(db.name + ".wal"), workdir / "per_hour.duckdb"):
        stale.unlink(missing_ok=True)
    try:
        results = {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
                       f"{platform.python_version()}, duckdb {__import__('duckdb').__version__}",
            "date": time.strftime("%Y-%m-%d"),
        }
        print("building synthetic index ...", file=sys.stderr, flush=True)
        results["build"] = build(db, args.chunks, args.distinct_phrases)
        print(json.dumps(results["build"]), file=sys.stderr, flush=True)
        print("timing reads ...", file=sys.stderr, flush=True)
        results["reads"] = time_reads(db, args.queries)
        results["embed_query"] = time_query_embedding()
        print("timing commits ...", file=sys.stderr, flush=True)
        results["commit_on_big_index"] = time_commits(db, workdir, args.commits)
        print("measuring bytes per hour ...", file=sys.stderr, flush=True)
        results["per_hour_real_writer"] = bytes_per_hour(workdir)
        b = results["build"]
        results["per_hour_synthetic"] = {"bytes_per_hour": b["db_bytes"] / b["hours_of_video"]}
        print(json.dumps(results, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
