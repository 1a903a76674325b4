"""Indexing throughput (#24): minutes of footage indexed per minute through the real `sva index` path.

    python -m bench.index_throughput [--minutes 10] [--short-minutes 1] [--workdir /tmp/sva-throughput]

Footage: a 30-s synthetic world (the demo model's kind of scene) looped and scaled to 1280x720 H.264 at 25 fps
for --minutes (and --short-minutes for the memory comparison), made with the bundled ffmpeg. Each run is
`sva index VIDEO --db FRESH --model demo --json` in its own process (the demo model's preset: 4 fps, 3-s
chunks), with the machine's default torch threads, in this order:
- one chunk at a time: `--decode-ahead 0 --batch-chunks 1` (decode, then the model, then commit, in turn);
- pipelined: decoding 3 chunks ahead of the model in a background thread (the default) and `--batch-chunks 4`
  (each chunk captioned and grounded in one batched generation with the chunks already decoded; the CPU
  default is 1, see IndexSettings.chunk_batch);
- pipelined on the short video: peak memory against the long one (goal: flat, <= 1.25x).
Real-time factor = seconds of footage / wall seconds of the run (start-up included). Peak memory is the
largest RSS of the `sva` process plus its children (ffmpeg), sampled every 0.2 s. The stage split is the run's
own report (agent/stage_clock.py).

Not measured here: the GPU run at the real Sa2VA-Qwen3-VL-4B size (no GPU was lent to the session that wrote
this; SAM-2's image encoder over several chunks' frames and region captions in one batch are not built yet).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORLD_SEED = 91_000  # a world of its own: away from the demo's, the tests' and the other benches' seeds


def make_footage(workdir: Path, minutes: float, name: str) -> Path:
    """A `minutes`-long 720p H.264 video: one synthetic world looped and scaled."""
    import imageio_ffmpeg  # the pip-shipped ffmpeg command (a test dependency): looping and scaling the footage

    from sa2va_engine.synthetic_world import WorldConfig, generate_world
    from tools.synthetic_video import write_world_video

    world_video = workdir / "world.mp4"
    if not world_video.exists():
        write_world_video(generate_world(WORLD_SEED, WorldConfig(duration_s=30.0)), world_video)
    out = workdir / name
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1", "-i", str(world_video),
                    "-t", f"{minutes * 60:.3f}", "-vf", "scale=1280:720:flags=bicubic,fps=25", "-c:v", "libx264",
                    "-preset", "veryfast", "-pix_fmt", "yuv420p", "-an", str(out)], check=True)
    return out


def index_run(video: Path, db: Path, *flags: str) -> dict:
    """`sva index` on `video`: wall seconds, peak RSS (process + children), its --json report."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONWARNINGS="ignore")
    env.pop("SVA_DB", None)
    env.pop("SVA_MODEL", None)
    cmd = [sys.executable, "-m", "agent.cli", "index", str(video), "--db", str(db), "--model", "demo", "--json", *flags]
    start = time.monotonic()
    child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        try:
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    stdout, stderr = child.communicate()
    wall = time.monotonic() - start
    if child.returncode != 0:
        raise SystemExit(f"bench.index_throughput: sva index failed ({child.returncode}):\n{stderr[-3000:]}")
    return {"wall_s": wall, "peak_rss_mb": peak / 2**20, "report": json.loads(stdout)}


def _footage_s(video: Path) -> float:
    from tools.video_prober import probe_video

    return float(probe_video(video).duration_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--short-minutes", type=float, default=1.0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sva-throughput"))
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    log(f"footage: {args.minutes:g} min and {args.short_minutes:g} min at 1280x720 ...")
    long_video = make_footage(args.workdir, args.minutes, "long.mp4")
    short_video = make_footage(args.workdir, args.short_minutes, "short.mp4")
    long_s, short_s = _footage_s(long_video), _footage_s(short_video)

    runs = {}
    for name, video, flags in (("one_chunk_at_a_time", long_video, ("--decode-ahead", "0", "--batch-chunks", "1")),
                               ("pipelined", long_video, ("--batch-chunks", "4")),
                               ("pipelined_short", short_video, ("--batch-chunks", "4"))):
        log(f"{name} ...")
        runs[name] = index_run(video, args.workdir / f"{name}.duckdb", *flags)

    def rtf(run: dict, seconds: float) -> float:
        return seconds / run["wall_s"]

    single, piped, short = runs["one_chunk_at_a_time"], runs["pipelined"], runs["pipelined_short"]
    stages = piped["report"]["stages"]
    total = sum(stages["seconds"].values()) or 1.0
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "footage_s": {"long": long_s, "short": short_s},
        "real_time_factor": {"one_chunk_at_a_time": rtf(single, long_s), "pipelined": rtf(piped, long_s),
                             "pipelined_short": rtf(short, short_s)},
        "pipelined_over_one_at_a_time": single["wall_s"] / piped["wall_s"],
        "wall_s": {k: v["wall_s"] for k, v in runs.items()},
        "peak_rss_mb": {k: v["peak_rss_mb"] for k, v in runs.items()},
        "memory_long_over_short": piped["peak_rss_mb"] / short["peak_rss_mb"],
        "stage_share_pipelined": {k: v / total for k, v in stages["seconds"].items()},
        "stage_s_one_chunk_at_a_time": single["report"]["stages"]["seconds"],
        "stage_s_pipelined": stages["seconds"],
        "chunks": stages["chunks"], "frames": stages["frames"],
        "tokens_per_chunk": sum(stages["tokens"].values()) / max(stages["chunks"], 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
