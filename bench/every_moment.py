"""Every moment, end to end (one command): generated footage with known events through `sva index --model demo`
and `sva query ... --json` at default settings, scored against the worlds' ground truth.

    .venv/bin/python -m bench.every_moment [--minutes 30] [--world-s 60] [--latency-minutes 1 10 60] [--json]

1. Writes ceil(minutes * 60 / world_s) unseen synthetic worlds (seeds UNSEEN_SEEDS + 20_000 + k, WorldConfig
   defaults but the length) as mp4s and indexes them all in one `sva index DIR --db DB --model demo` process
   (the model loads once); prints footage minutes / wall minutes (the real-time factor, > 1 is faster).
2. For every world, every object and every event kind in {jump, enters, leaves} that the world's ground truth
   has, asks "find every moment the <name> jumps in <file>" (leaves / enters: "... leaves the frame in ...",
   "... enters the frame in ..."); objects without such an event are asked too, so false moments count. The
   bulk runs in this process through `run_query(question, query_settings(db))`, what `sva query` calls; a
   handful go through the real CLI too and must give the same moments. Recall = ground-truth events matched
   one-to-one by a moment of temporal IoU >= 0.5; precision = moments that match an event of the asked object
   and kind, over all moments returned, whatever route answered; answers not taken from the events table
   (route != "events") are counted. Then each kind once per video with no subject ("find every jump in <file>"),
   scored the same way against the events of every object of the world. Then each name asked of the whole index
   with no file named ("find every moment the red ball jumps"), scored against every video's objects of that name:
   what a user asking across a library gets; and, for each name with two jumps or more, "the highest jump of the
   <name>" against the hop that rises most (apex in object heights).
3. Objects in the index against the worlds' masks (stored RLEs decoded): a ground-truth object is found when
   one stored object's mask has IoU > 0.3 with it on at least half of the frames where it is visible (object
   recall); a stored object belongs to the ground-truth object its mask overlaps (IoU > 0.3) on most of its own
   frames, if that is at least half of them; label accuracy is the share of those whose label names the right
   colour and kind; identity switches are the stored objects per ground-truth object beyond the first.
   Then the states (moving, still, on the left / right, near another object) of every object and pair, scored by
   time against the worlds' truth (bench/state_scores.py).
4. Query latency against indexed footage: copies of the real index's rows (new video and object ids, each
   copy's videos symlinked under new paths) make 1 / 10 / 60-minute indexes without running the model; the
   event query "find every moment the red ball jumps" (all videos; when the index has no stored jump of a red
   ball, the same question about the stored label with the most jumps) is timed cold (a new reader, connection,
   settings and graph per run, as a fresh `sva query` has; the process's imports and text model excluded) and
   warm (one reader kept), median of 5 each, plus one real `sva query` process at the largest size. The first
   cold run is shown apart ("first ask"): it is the one where the model checks the objects the names leave
   ambiguous; the index keeps those verdicts (index/subject_checks.py), so the runs after it do not.

The `sva` processes run with OMP_NUM_THREADS=--threads (1): on a small shared machine torch's default of a
thread per core ran the demo model several times slower (bench/README.md, "Scale").

`--ask-again` (with the `--workdir` of an earlier run): steps 2 and 3 again on a copy of that run's index
(`asked_again.duckdb` beside it), with the code as it is now and no re-index: what a change to the query side
alone does to the same stored index. The earlier run's files are left as they are. With `--replay` the copy's events
and states are first recomputed from its stored tracks by the rules as they are now (no model): what a change to the
rules does.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np

from bench.state_scores import ask_states, print_states

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("jump", "enters", "leaves")
QUESTIONS = {
    "jump": "find every moment the {name} jumps",
    "enters": "find every moment the {name} enters the frame",
    "leaves": "find every moment the {name} leaves the frame",
}
# The same kinds asked with no subject: every object's events of the kind in the video (README, "Querying").
ANY_QUESTIONS = {
    "jump": "find every jump in {file}",
    "enters": "what enters the frame in {file}",
    "leaves": "which objects leave the frame in {file}",
}
LATENCY_QUESTION = "find every moment the red ball jumps"
SUPERLATIVE_QUESTION = "the highest jump of the {name}"
SEED_OFFSET = 20_000  # away from bench.demo_accuracy (+0, +10_000) and tests/test_every_moment.py (+40_000)
MIN_TIOU = 0.5
MASK_IOU = 0.3
CLI_CHECKS = 4
RUNS = 5


def sva_env(threads: int) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONWARNINGS="ignore",
               OMP_NUM_THREADS=str(threads))
    env.pop("SVA_DB", None)
    env.pop("SVA_MODEL", None)
    return env


def run_sva(args: list[str], threads: int, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """`sva ARGS` as tests/agent_fixtures.py runs it: this interpreter, `-m agent.cli`, from the repository."""
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], cwd=ROOT, env=sva_env(threads),
                          capture_output=True, text=True, timeout=timeout)


# -- 1. footage and index ---------------------------------------------------------------------------------------
def make_worlds(n: int, world_s: float, video_dir: Path, write: bool = True, first: int = 0):
    """Worlds ``first`` to ``first + n - 1`` of the bench's unseen seeds (``first`` > 0: other worlds than the default
    run's, to check that a change which helps on those is not picked by chance)."""
    from agent.demo.demo_run import UNSEEN_SEEDS
    from sa2va_engine.synthetic.world import WorldConfig, generate_world
    from tools.synthetic_video import write_world_video

    video_dir.mkdir(parents=True, exist_ok=True)
    worlds, videos = [], []
    for k in range(n):
        world = generate_world(UNSEEN_SEEDS + SEED_OFFSET + first + k, WorldConfig(duration_s=world_s))
        worlds.append(world)
        path = video_dir / f"world_{world.seed}.mp4"
        videos.append((write_world_video(world, path) if write else path).resolve())
    return worlds, videos


def index_footage(video_dir: Path, db: Path, threads: int, model: str = "demo") -> float:
    start = time.monotonic()
    result = run_sva(["index", str(video_dir), "--db", str(db), "--model", model], threads)
    wall = time.monotonic() - start
    if result.returncode != 0:
        raise SystemExit(f"bench.every_moment: sva index failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return wall


# -- 2. event questions -----------------------------------------------------------------------------------------
def moment_spans(moments) -> list[tuple[str, float, float]]:
    return [(m.video_path, m.start_s, m.end_s) for m in moments]


def ask_everything(worlds, videos, db: Path, log) -> tuple[dict, list[dict]]:
    from agent.demo.metrics import match_events, temporal_iou
    from agent.query.query_graph import run_query
    from agent.run_settings import query_settings

    fields = ("questions", "events", "found", "moments", "matching", "other_route", "other_route_moments")
    per_kind = {k: dict.fromkeys(fields, 0) for k in KINDS}
    asked = []
    for world, video in zip(worlds, videos):
        kinds = [k for k in KINDS if any(e.kind == k for e in world.events)]
        for obj in world.objects:
            for kind in kinds:
                question = QUESTIONS[kind].format(name=obj.name) + f" in {video.name}"
                start = time.monotonic()
                answer = run_query(question, query_settings(db))
                seconds = time.monotonic() - start
                events = [(e.start_s, e.end_s) for e in world.events_of(obj.object_id, kind)]
                # A moment in another video (a wrong scope) matches nothing.
                spans = [(s, e) if v == str(video) else (-1e9, -1e9) for v, s, e in moment_spans(answer.moments)]
                found = match_events(spans, events, MIN_TIOU)
                good = sum(any(temporal_iou(m, e) >= MIN_TIOU for e in events) for m in spans)
                c = per_kind[kind]
                c["questions"] += 1
                c["events"] += len(events)
                c["found"] += found
                c["moments"] += len(spans)
                c["matching"] += good
                if answer.route != "events":
                    c["other_route"] += 1
                    c["other_route_moments"] += len(spans)
                asked.append({"question": question, "kind": kind, "route": answer.route, "objects": answer.objects,
                              "events": events, "moments": [(round(s, 3), round(e, 3)) for s, e in spans],
                              "found": found, "seconds": round(seconds, 3), "spans": moment_spans(answer.moments)})
                log(f"  {video.name} {obj.name} {kind}: route {answer.route}, truth "
                    f"{[(round(a, 2), round(b, 2)) for a, b in events]}, moments "
                    f"{[(round(a, 2), round(b, 2)) for a, b in spans]} ({seconds:.1f} s)")
    return per_kind, asked


TALLIED = ("questions", "events", "found", "moments", "matching", "other_route")


def _tally(counts: dict, answer, truth: dict[str, list[tuple[float, float]]]) -> None:
    """Add one answer to a kind's counts: `truth` holds the true spans by video path; a moment in a video not in it
    (a wrong scope) matches nothing. Recall one-to-one at temporal IoU >= MIN_TIOU, precision of the moments."""
    from agent.demo.metrics import match_events, temporal_iou

    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for v, a, b in moment_spans(answer.moments):
        spans[v].append((a, b))
    counts["questions"] += 1
    counts["events"] += sum(len(e) for e in truth.values())
    counts["found"] += sum(match_events(spans.get(v, []), e, MIN_TIOU) for v, e in truth.items())
    counts["moments"] += len(answer.moments)
    counts["matching"] += sum(any(temporal_iou(m, e) >= MIN_TIOU for e in truth.get(v, []))
                              for v, ms in spans.items() for m in ms)
    counts["other_route"] += answer.route != "events"


def ask_any(worlds, videos, db: Path, log) -> dict:
    """Each kind asked with no subject, once per video ("find every jump in <file>"), scored against the events of
    that kind of every object of the world: recall one-to-one at temporal IoU >= 0.5, precision of the moments."""
    from agent.query.query_graph import run_query
    from agent.run_settings import query_settings

    per_kind = {k: dict.fromkeys(TALLIED, 0) for k in KINDS}
    for world, video in zip(worlds, videos):
        for kind in KINDS:
            answer = run_query(ANY_QUESTIONS[kind].format(file=video.name), query_settings(db))
            events = [(e.start_s, e.end_s) for e in world.events if e.kind == kind]
            _tally(per_kind[kind], answer, {str(video): events})
            log(f"  {video.name} any {kind}: route {answer.route}, truth {[(round(a, 2), round(b, 2)) for a, b in events]}"
                f", moments {[(Path(v).name, round(a, 2), round(b, 2)) for v, a, b in moment_spans(answer.moments)]}")
    return per_kind


def ask_library(worlds, videos, db: Path, log) -> dict:
    """Each name any world's object has, asked of the whole index with no file named ("find every moment the red ball
    jumps"), once per kind: scored against the events of that kind of every world object of that name, in every
    video; a moment in a video whose world has no such object, or of another object, is a false one. What a user
    asking across a library gets: the subject is resolved over every video, so an object of another video that the
    names confuse with it answers too."""
    from agent.demo.metrics import temporal_iou
    from agent.query.query_graph import run_query
    from agent.run_settings import query_settings

    per_kind = {k: dict.fromkeys(TALLIED, 0) for k in KINDS}
    per_kind["highest"] = {"questions": 0, "right": 0}
    names = sorted({o.name for w in worlds for o in w.objects})
    for name in names:
        for kind in KINDS:
            answer = run_query(QUESTIONS[kind].format(name=name), query_settings(db))
            truth = {str(v): [(e.start_s, e.end_s) for o in w.objects if o.name == name
                              for e in w.events_of(o.object_id, kind)] for w, v in zip(worlds, videos)}
            _tally(per_kind[kind], answer, truth)
            log(f"  library {name} {kind}: route {answer.route}, {len(answer.objects)} objects, "
                f"{sum(len(e) for e in truth.values())} events, {len(answer.moments)} moments")
        # The most of it: "the highest jump of the <name>", for names with two jumps or more, against the hop that
        # rises most (object heights, as the events' sizes are).
        hops = [(hop.apex_px / o.height_px, str(v), hop) for w, v in zip(worlds, videos) for o in w.objects
                if o.name == name for hop in o.path.hops]
        if len(hops) >= 2:
            _, video, hop = max(hops, key=lambda h: h[0])
            answer = run_query(SUPERLATIVE_QUESTION.format(name=name), query_settings(db))
            right = any(v == video and temporal_iou((a, b), (hop.start_s, hop.end_s)) >= MIN_TIOU
                        for v, a, b in moment_spans(answer.moments))
            per_kind["highest"]["questions"] += 1
            per_kind["highest"]["right"] += right
            log(f"  library the highest jump of the {name}: {len(hops)} jumps, the highest "
                f"{'found' if right else 'not found'}")
    return per_kind


def cli_checks(asked: list[dict], db: Path, threads: int, log) -> int:
    """A few questions again through `sva query --json`: one per kind answered from events, one that was not."""
    picks, seen = [], set()
    for item in asked:
        key = item["route"] if item["route"] != "events" else ("events", item["kind"])
        if key not in seen and len(picks) < CLI_CHECKS:
            seen.add(key)
            picks.append(item)
    for item in picks:
        result = run_sva(["query", item["question"], "--db", str(db), "--json"], threads)
        if result.returncode != 0:
            raise SystemExit(f"bench.every_moment: sva query failed: {result.stderr[-2000:]}")
        answer = json.loads(result.stdout)
        cli = [(m["video_path"], m["start_s"], m["end_s"]) for m in answer["moments"]]
        same = answer["route"] == item["route"] and len(cli) == len(item["spans"]) and all(
            a[0] == b[0] and abs(a[1] - b[1]) < 1e-6 and abs(a[2] - b[2]) < 1e-6 for a, b in zip(cli, item["spans"]))
        log(f"  CLI check: {item['question']!r}: route {answer['route']}, {len(cli)} moment(s), "
            f"{'same' if same else 'DIFFERENT'}")
        if not same:
            raise SystemExit(f"bench.every_moment: `sva query` and run_query differ on {item['question']!r}:\n"
                             f"CLI {answer['route']} {cli}\nin-process {item['route']} {item['spans']}")
    return len(picks)


# -- 3. objects -------------------------------------------------------------------------------------------------
def _frame_index(time_s: float, fps: float, n_frames: int) -> int | None:
    i = round(time_s * fps)
    return i if 0 <= i < n_frames and abs(i / fps - time_s) < 0.5 / fps else None


def _resize(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if mask.shape == shape:
        return mask
    import cv2

    return cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def label_names(label: str, colour: str, kind: str) -> bool:
    """Whether the label says the colour and the kind (any kind when `kind` is empty)."""
    words = {w.strip(".,;:!?\"'()").lower() for w in label.split()}
    return colour in words and (not kind or kind in words or kind + "s" in words)


def score_objects(worlds, videos, db: Path) -> dict:
    from index.connection import open_read
    from sa2va_engine.masklet import Rle

    with open_read(db) as con:  # the reader's own settings: its lingering connection may still be open
        rows = con.execute(
            "SELECT v.path, o.object_id, o.label, t.time_s, t.score, t.mask_h, t.mask_w, t.mask_counts "
            "FROM track_points t JOIN objects o USING (object_id) JOIN videos v ON v.video_id = o.video_id "
            "WHERE t.mask_counts IS NOT NULL ORDER BY v.path, o.object_id, t.time_s"
        ).fetchall()
    stored: dict[str, dict[int, dict]] = defaultdict(dict)
    for path, oid, label, t, score, h, w, counts in rows:
        obj = stored[path].setdefault(oid, {"label": label, "points": {}})
        obj["points"].setdefault(t, []).append((score, h, w, counts))
    totals = defaultdict(int)
    for world, video in zip(worlds, videos):
        fps, n = world.config.fps, world.n_frames
        truth = {}  # ground-truth object -> frame index -> mask
        for oid, masklet in world.masklets().items():
            truth[oid] = {i: p.mask.decode() for i, p in enumerate(masklet.points) if p.present and p.mask}
        shape = (world.config.height, world.config.width)
        objects = stored.get(str(video), {})
        masks = {}  # stored object -> frame index -> mask (the best-scored point of overlapping chunks)
        for soid, obj in objects.items():
            frames = {}
            for t, points in obj["points"].items():
                i = _frame_index(t, fps, n)
                if i is None:
                    continue
                score, h, w, counts = max(points)
                frames[i] = _resize(Rle(size=(h, w), counts=counts).decode(), shape)
            masks[soid] = frames
        # Ground-truth side: object recall.
        for gid, gframes in truth.items():
            totals["truth_objects"] += 1
            if not gframes:
                continue
            totals["truth_visible"] += 1
            best = max((sum(i in m and _iou(m[i], g) > MASK_IOU for i, g in gframes.items()) for m in masks.values()),
                       default=0)
            if best >= len(gframes) / 2:
                totals["found_objects"] += 1
        # Stored side: which ground-truth object each stored object follows, its label, identity switches.
        owners = defaultdict(list)
        for soid, frames in masks.items():
            totals["stored_objects"] += 1
            if not frames:
                continue
            # (frames with IoU > MASK_IOU, summed IoU) per ground-truth object; the sum breaks ties, e.g. a
            # mask over two objects.
            scores = {}
            for gid, gframes in truth.items():
                ious = [_iou(m, gframes[i]) if i in gframes else 0.0 for i, m in frames.items()]
                scores[gid] = (sum(x > MASK_IOU for x in ious), sum(ious))
            gid, (hits, _) = max(scores.items(), key=lambda kv: kv[1], default=(None, (0, 0.0)))
            if gid is None or hits < len(frames) / 2:
                totals["stored_unmatched"] += 1
                continue
            owners[gid].append(soid)
            g = world.object(gid)
            totals["stored_matched"] += 1
            totals["labels_right"] += label_names(objects[soid]["label"], g.colour, g.kind)
            totals["colours_right"] += label_names(objects[soid]["label"], g.colour, "")
        totals["identity_switches"] += sum(len(v) - 1 for v in owners.values())
    return dict(totals)


# -- 4. latency against indexed footage -------------------------------------------------------------------------
_VIDEO = 10**12  # index/object_ids.py: object_id = video_id * 10**12 + chunk_index * 10**4 + ordinal


def build_copy(real_db: Path, out_db: Path, target_s: float, link_root: Path, first: str) -> tuple[int, float]:
    """An index holding the real index's rows again and again (copy c: video ids + c * (max id), object ids
    moved with their video, paths symlinked under link_root/c<c>/) until `target_s` seconds of footage, video
    `first` first; no model runs. Returns (videos, seconds of footage)."""
    from index.schema import migrate

    for p in (out_db, out_db.with_name(out_db.name + ".wal")):
        p.unlink(missing_ok=True)
    # A plain connection: the index's own write connections turn file access (ATTACH) off.
    con = duckdb.connect(str(out_db))
    try:
        migrate(con, str(out_db))
        quoted = str(real_db).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS src (READ_ONLY)")
        videos = con.execute("SELECT video_id, path, duration_s FROM src.videos WHERE status = 'done' "
                             "ORDER BY video_id").fetchall()
        videos.sort(key=lambda v: v[1] != first)
        step = max(v[0] for v in videos)
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO jobs SELECT * FROM src.jobs")
        con.execute("INSERT INTO texts BY NAME SELECT * FROM src.texts")
        total, count, copy = 0.0, 0, 0
        while total < target_s - 1e-6:
            for vid, path, duration in videos:
                if total >= target_s - 1e-6:
                    break
                new_vid, offset = vid + copy * step, copy * step * _VIDEO
                new_path = path
                if copy:
                    link = link_root / f"c{copy}" / Path(path).name
                    link.parent.mkdir(parents=True, exist_ok=True)
                    if not link.exists():
                        link.symlink_to(path)
                    new_path = str(link)
                ids = {"vid": vid, "nv": new_vid}
                params = ids | {"off": offset}
                con.execute("INSERT INTO videos BY NAME SELECT * REPLACE ($nv AS video_id, $path AS path) "
                            "FROM src.videos WHERE video_id = $vid", ids | {"path": new_path})
                con.execute("INSERT INTO chunks BY NAME SELECT * REPLACE ($nv AS video_id) FROM src.chunks "
                            "WHERE video_id = $vid", ids)
                for table in ("objects", "track_points", "phrases", "text_refs"):
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * REPLACE ($nv AS video_id, "
                                f"object_id + $off AS object_id) FROM src.{table} WHERE video_id = $vid", params)
                con.execute("INSERT INTO events BY NAME SELECT * REPLACE ($nv AS video_id, object_id + $off AS "
                            "object_id, other_object_id + $off AS other_object_id) FROM src.events "
                            "WHERE video_id = $vid", params)
                total += duration or 0.0
                count += 1
            copy += 1
        con.execute("COMMIT")
        con.execute("DETACH src")
    finally:
        con.close()
    return count, total


def latency_question(db: Path, log) -> tuple[str, str]:
    """The issue's question when the index answers it from events with at least one moment; else the same with
    the stored label that has the most jump events (the timing is of an event query that finds something, not
    of the model verifying chunks). Returns it and a video it finds a moment in (the copies start there, so the
    smallest index holds one too)."""
    from agent.query.query_graph import run_query
    from agent.run_settings import query_settings
    from index.connection import open_read

    answer = run_query(LATENCY_QUESTION, query_settings(db))
    if answer.route == "events" and answer.moments:
        return LATENCY_QUESTION, answer.moments[0].video_path
    with open_read(db) as con:  # the reader's own settings: its lingering connection may still be open
        row = con.execute("SELECT o.label FROM events e JOIN objects o USING (object_id) WHERE e.kind = 'jump' "
                          "GROUP BY o.label ORDER BY count(*) DESC, o.label LIMIT 1").fetchone()
    if row is None:
        raise SystemExit("bench.every_moment: the index holds no jump event to time an event query on")
    label = row[0].removeprefix("the ").removeprefix("a ")
    question = f"find every moment the {label} jumps"
    answer = run_query(question, query_settings(db))
    if answer.route != "events" or not answer.moments:
        raise SystemExit(f"bench.every_moment: {question!r} is not answered from events ({answer.route})")
    log(f"  {LATENCY_QUESTION!r} finds no stored jump here (route {answer.route}); timing {question!r}")
    return question, answer.moments[0].video_path


def time_queries(db: Path, question: str) -> dict:
    from agent.query.query_graph import QueryRunner
    from agent.run_settings import query_settings
    from index.embedder import default_embedder
    from index.reader import IndexReader

    embedder = default_embedder()
    cold, answers = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        settings = query_settings(db)
        answer = QueryRunner(settings, reader=IndexReader(db, embedder=embedder, linger_s=0)).run(question)
        cold.append(time.perf_counter() - start)
        answers.append(answer)
    runner = QueryRunner(query_settings(db), reader=IndexReader(db, embedder=embedder))
    runner.run(question)  # the connection opens and the cache fills
    warm = []
    for _ in range(RUNS):
        start = time.perf_counter()
        answer = runner.run(question)
        warm.append(time.perf_counter() - start)
    runner.reader.close()
    # The first run checks the ambiguous objects with the model and stores the verdicts; the others read them.
    return {"first_s": cold[0], "cold_s": statistics.median(cold[1:]), "warm_s": statistics.median(warm),
            "route": answer.route,
            "moments": len(answer.moments), "objects": len(answer.objects)}


# -- 5. report --------------------------------------------------------------------------------------------------
def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="total footage indexed by the model")
    ap.add_argument("--world-s", type=float, default=60.0, help="seconds per generated video")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="scratch folder, kept (default: a temporary one, deleted); this bench's files there are replaced")
    ap.add_argument("--latency-minutes", type=float, nargs="*", default=[1, 10, 60])
    ap.add_argument("--threads", type=int, default=1, help="torch threads, here and in the sva processes")
    ap.add_argument("--first-world", type=int, default=0,
                    help="start at this world of the unseen seeds (default 0; the worlds must not reach the tests' "
                         "+40,000): other worlds than the default run's; --ask-again needs the same value")
    ap.add_argument("--model", default="demo", help="the checkpoint `sva index` runs (default: the demo model)")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    ap.add_argument("--quiet", action="store_true", help="no line per question")
    ap.add_argument("--ask-again", action="store_true",
                    help="ask and score again on a copy of the --workdir's earlier index (no re-index, no latency)")
    ap.add_argument("--replay", action="store_true",
                    help="with --ask-again: first recompute the copy's events and states from its stored tracks with "
                         "the rules as they are now (what a migration does; no model)")
    args = ap.parse_args()
    if not 0 <= args.first_world <= SEED_OFFSET - math.ceil(args.minutes * 60 / args.world_s):
        raise SystemExit(f"bench.every_moment: --first-world {args.first_world}: the worlds would reach the tests' "
                         f"seeds; give 0 to {SEED_OFFSET} less the number of worlds")
    if args.ask_again and (args.workdir is None or not (args.workdir / "index.duckdb").is_file()):
        raise SystemExit(f"bench.every_moment: --ask-again needs the --workdir of an earlier run (an index.duckdb "
                         f"there); {args.workdir} has none")

    import torch

    torch.set_num_threads(args.threads)
    os.environ.update({k: v for k, v in sva_env(args.threads).items() if k != "PYTHONWARNINGS"})

    def log(line: str) -> None:
        print(line, flush=True)

    detail = (lambda line: None) if args.quiet else log
    if args.ask_again:
        ask_again(args, log, detail)
        return
    temp = None
    if args.workdir is None:
        temp = tempfile.mkdtemp(prefix="sva-every-moment-")
        work = Path(temp)
    else:
        work = args.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
        for old in [work / "videos", *work.glob("index.duckdb*"), *work.glob("copy_*min.duckdb*"),
                    *work.glob("links_*")]:  # only what an earlier run of this bench left there
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old)
            elif old.exists() or old.is_symlink():
                old.unlink()
    bench_start = time.monotonic()
    try:
        n_worlds = math.ceil(args.minutes * 60 / args.world_s)
        log(f"{n_worlds} unseen worlds of {args.world_s:g} s in {work}")
        start = time.monotonic()
        worlds, videos = make_worlds(n_worlds, args.world_s, work / "videos", first=args.first_world)
        footage_s = sum(w.config.duration_s for w in worlds)
        log(f"  written in {time.monotonic() - start:.0f} s; {sum(len(w.objects) for w in worlds)} objects, "
            f"events {dict(sorted(_count_kinds(worlds).items()))}")
        db = work / "index.duckdb"
        index_wall = index_footage(work / "videos", db, args.threads, args.model)
        rtf = footage_s / index_wall
        log(f"indexed {footage_s / 60:.1f} min of footage in {index_wall / 60:.2f} min: real-time factor {rtf:.2f}")

        log("event questions:")
        start = time.monotonic()
        per_kind, asked = ask_everything(worlds, videos, db, detail)
        questions_s = time.monotonic() - start
        checked = cli_checks(asked, db, args.threads, log)
        log("questions with no subject:")
        any_kind = ask_any(worlds, videos, db, detail)
        log("the whole index, no file named:")
        library = ask_library(worlds, videos, db, detail)
        log("state questions:")
        start = time.monotonic()
        states = ask_states(worlds, videos, db, detail)
        states_s = time.monotonic() - start

        log("objects:")
        objects = score_objects(worlds, videos, db)

        log("latency:")
        latency = []
        question, first = latency_question(db, log) if args.latency_minutes else (None, None)
        for minutes in args.latency_minutes:
            copy_db = work / f"copy_{minutes:g}min.duckdb"
            n_videos, seconds = build_copy(db, copy_db, minutes * 60, work / f"links_{minutes:g}", first)
            row = {"minutes": seconds / 60, "videos": n_videos, **time_queries(copy_db, question)}
            latency.append(row)
            log(f"  {seconds / 60:g} indexed min ({n_videos} videos): first {row['first_s']:.3f} s, "
                f"cold {row['cold_s']:.3f} s, "
                f"warm {row['warm_s']:.3f} s, route {row['route']}, {row['moments']} moments")
        cli_s = None
        if latency:
            start = time.monotonic()
            result = run_sva(["query", question, "--db", str(work / f"copy_{args.latency_minutes[-1]:g}min.duckdb"),
                              "--json"], args.threads)
            cli_s = time.monotonic() - start
            if result.returncode != 0:
                raise SystemExit(f"bench.every_moment: sva query failed: {result.stderr[-2000:]}")

        results = report(args, n_worlds, footage_s, index_wall, rtf, per_kind, objects, latency, question, cli_s,
                         checked, questions_s, sum(1 for _ in asked), time.monotonic() - bench_start,
                         states, states_s, any_kind, library)
        if args.json:
            print(json.dumps(results, indent=2))
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


def ask_again(args, log, detail) -> None:
    """Steps 2 and 3 on a copy of the earlier run's index in args.workdir (the module docstring)."""
    work = args.workdir.resolve()
    start = time.monotonic()
    n_worlds = math.ceil(args.minutes * 60 / args.world_s)
    worlds, videos = make_worlds(n_worlds, args.world_s, work / "videos", write=False, first=args.first_world)
    missing = [v for v in videos if not v.is_file()]
    if missing:
        raise SystemExit(f"bench.every_moment: --ask-again: {missing[0]} is missing; give the --minutes and "
                         f"--world-s of the earlier run")
    from index.backup import write_backup

    db = work / "asked_again.duckdb"
    for old in work.glob("asked_again.duckdb*"):
        old.unlink()
    write_backup(work / "index.duckdb", db)  # what `sva backup` does: the WAL's commits in, the copy checked
    log(f"asking again on a copy of {work / 'index.duckdb'}: {db}")
    if args.replay:
        from index.event_store import replace_all_events

        with duckdb.connect(str(db)) as con:
            n_videos, n = replace_all_events(con)
        log(f"  replayed the events and states of {n_videos} videos from their stored tracks: {n} rows")
    began = time.monotonic()
    per_kind, asked = ask_everything(worlds, videos, db, detail)
    questions_s = time.monotonic() - began
    any_kind = ask_any(worlds, videos, db, detail)
    library = ask_library(worlds, videos, db, detail)
    began = time.monotonic()
    states = ask_states(worlds, videos, db, detail)
    states_s = time.monotonic() - began
    objects = score_objects(worlds, videos, db)
    footage_s = sum(w.config.duration_s for w in worlds)
    results = report(args, n_worlds, footage_s, None, None, per_kind, objects, [], None, None, None, questions_s,
                     len(asked), time.monotonic() - start, states, states_s, any_kind, library)
    if args.json:
        print(json.dumps(results, indent=2))


def _count_kinds(worlds) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for w in worlds:
        for e in w.events:
            counts[e.kind] += 1
    return counts


def _print_kinds(per_kind: dict) -> None:
    """A table of counts per kind (ask_any, ask_library), with recall and precision added to each kind's counts."""
    print("| kind | events | found | recall | moments | matching | precision | not from events |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in KINDS:
        c = per_kind[kind]
        c["recall"], c["precision"] = _ratio(c["found"], c["events"]), _ratio(c["matching"], c["moments"])
        print(f"| {kind} | {c['events']} | {c['found']} | {_fmt(c['recall'])} | {c['moments']} | {c['matching']} | "
              f"{_fmt(c['precision'])} | {c['other_route']} |")


def report(args, n_worlds, footage_s, index_wall, rtf, per_kind, objects, latency, question, cli_s, checked,
           questions_s, n_questions, total_s, states, states_s, any_kind, library) -> dict:
    print()
    print(f"every moment: {n_worlds} worlds x {args.world_s:g} s = {footage_s / 60:g} min of footage, "
          f"model {args.model}, defaults, worlds from {args.first_world}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{args.threads} torch thread(s)")
    print()
    print(f"| kind | events | found | recall | moments | matching | precision | questions | not from events |")
    print("|---|---|---|---|---|---|---|---|---|")
    kinds = {}
    for kind in KINDS:
        c = per_kind[kind]
        recall, precision = _ratio(c["found"], c["events"]), _ratio(c["matching"], c["moments"])
        kinds[kind] = dict(c) | {"recall": recall, "precision": precision}
        print(f"| {kind} | {c['events']} | {c['found']} | {_fmt(recall)} | {c['moments']} | {c['matching']} | "
              f"{_fmt(precision)} | {c['questions']} | {c['other_route']} ({c['other_route_moments']} moments) |")
    both = {k: sum(per_kind[kind][k] for kind in ("enters", "leaves")) for k in ("events", "found", "moments",
                                                                                  "matching")}
    enter_leave = {"recall": _ratio(both["found"], both["events"]), "precision": _ratio(both["matching"],
                                                                                       both["moments"])}
    print(f"| enters + leaves | {both['events']} | {both['found']} | {_fmt(enter_leave['recall'])} | "
          f"{both['moments']} | {both['matching']} | {_fmt(enter_leave['precision'])} | | |")
    print()
    print("no subject named, once per video per kind (\"find every jump in <file>\", \"what enters the frame ...\", "
          "\"which objects leave the frame ...\"), against every object's events:")
    print()
    _print_kinds(any_kind)
    print()
    print("the whole index, no file named, once per name any object has and per kind (\"find every moment the red "
          "ball jumps\"), against the events of every object of that name in every video:")
    print()
    _print_kinds(library)
    h = library["highest"]
    print()
    print(f"\"the highest jump of the <name>\", for the {h['questions']} names with two jumps or more: the world's "
          f"highest hop answered for {h['right']} / {h['questions']} = {_fmt(_ratio(h['right'], h['questions']))}")
    print()
    print_states(states)
    print(f"({sum(r['questions'] for r in states.values())} state questions in-process: {states_s:.0f} s)")
    print()
    o = objects
    object_recall = _ratio(o.get("found_objects", 0), o.get("truth_visible", 0))
    label_acc = _ratio(o.get("labels_right", 0), o.get("stored_matched", 0))
    print("| figure | value |")
    print("|---|---|")
    print(f"| object recall (ground-truth objects with a stored track, mask IoU > {MASK_IOU} on >= half their "
          f"frames) | {o.get('found_objects', 0)} / {o.get('truth_visible', 0)} = {_fmt(object_recall)} |")
    print(f"| stored objects: following a ground-truth object / following none | {o.get('stored_matched', 0)} / "
          f"{o.get('stored_unmatched', 0)} (of {o.get('stored_objects', 0)}) |")
    print(f"| label accuracy (labels naming the right colour and kind, of those following one) | "
          f"{o.get('labels_right', 0)} / {o.get('stored_matched', 0)} = {_fmt(label_acc)} |")
    print(f"| of them naming the right colour (any kind) | {o.get('colours_right', 0)} / {o.get('stored_matched', 0)} "
          f"= {_fmt(_ratio(o.get('colours_right', 0), o.get('stored_matched', 0)))} |")
    print(f"| identity switches (stored objects per ground-truth object beyond the first) | "
          f"{o.get('identity_switches', 0)} |")
    if index_wall is None:
        print("| indexing | not run (`--ask-again`: the earlier run's index, copied) |")
    else:
        print(f"| indexing: {footage_s / 60:g} min of footage in {index_wall / 60:.2f} min wall, one `sva index` | "
              f"real-time factor **{rtf:.2f}** |")
    through = f"{checked} checked through `sva query --json`, same moments" if checked is not None else "none through `sva query`"
    print(f"| {n_questions} questions in-process ({through}) | {questions_s:.0f} s |")
    print()
    if latency:
        print(f"query latency, {question!r} over all videos; first ask, then the median of {RUNS - 1} cold and "
              f"{RUNS} warm:")
        print()
        print("| indexed minutes | videos | first ask | cold | warm | route | moments |")
        print("|---|---|---|---|---|---|---|")
        for row in latency:
            print(f"| {row['minutes']:g} | {row['videos']} | {row['first_s']:.3f} s | {row['cold_s']:.3f} s | "
                  f"{row['warm_s']:.3f} s | {row['route']} | {row['moments']} |")
        print()
        print(f"one `sva query --json` process at {latency[-1]['minutes']:g} indexed minutes (imports, text model "
              f"and all): {cli_s:.1f} s wall")
    print(f"({total_s:.0f} s in all)")
    return {"worlds": n_worlds, "world_s": args.world_s, "footage_min": footage_s / 60, "index_wall_s": index_wall,
            "real_time_factor": rtf, "kinds": kinds, "enters_leaves": enter_leave,
            "objects": objects | {"object_recall": object_recall, "label_accuracy": label_acc},
            "latency_question": question, "latency": latency, "cli_query_s": cli_s, "questions": n_questions,
            "questions_s": questions_s, "total_s": total_s, "states": states, "states_s": states_s,
            "no_subject": any_kind, "library": library}


if __name__ == "__main__":
    main()
