"""Indexing throughput (#24): minutes of footage indexed per minute through the real `sva index` path.

    python -m bench.index_throughput [--minutes 10] [--short-minutes 1] [--repeats 3]          # CPU, demo model
    python -m bench.index_throughput --memory-only [--long-minutes 60] [--short-minutes 1]      # memory vs length
    python -m bench.index_throughput --size real --device cuda --minutes 3 --repeats 1          # GPU, real size
    python -m bench.index_throughput --size tiny --minutes 0.2 --repeats 1                      # smoke run of that path

Footage: a 30-s synthetic world (the demo model's kind of scene) scaled to 1280x720 H.264 at 25 fps once, then
looped to each length by stream copy (no re-encode, so a 60-min video costs seconds to make). Each run is
`sva index VIDEO --db FRESH --json ...` in its own process, with the machine's default torch threads:
- one chunk at a time: `--decode-ahead 0 --commit-behind 0 --batch-chunks 1 --frame-batch 1`: decode, caption,
  ground, track (SAM-2 one frame at a time), describe (one object at a time), link, commit, in turn, every model
  call with batch 1;
- pipelined: `--decode-ahead 3 --batch-chunks 4 --frame-batch 8` and `--commit-behind` 4 on CUDA, 0 on CPU (the
  defaults): decoding 3 chunks ahead in a background thread; each chunk captioned, grounded and tracked with the
  chunks already decoded after it (one batched generation each; SAM-2's image encoder over 8 frames at a time
  across them); a chunk's new objects described in one batch; on CUDA linking and committing (embedding included)
  in another background thread, in chunk order, up to 4 chunks behind the analysis (on CPU that thread takes the
  GIL from the model and measured slower than committing in turn).
Both keep the writer's connection open between chunks (index/write_session.py), as `sva index` does.
The two alternate (`--repeats` pairs, the order flipped every pair so a drift in the machine's load favours
neither); the figure is the ratio of their median wall times, with each pair's ratio shown. Then the pipelined
run on the short video, for memory. Real-time factor = seconds of footage / wall seconds of the run (start-up
included). Peak memory: the largest RSS of the `sva` process plus its children, sampled every 0.2 s (and on CUDA
the GPU memory nvidia-smi reports for the machine, sampled every second). CPU seconds: user + system time of the
process and its children (less sensitive than wall time to other processes on a shared machine, blind to overlap).
The stage split is the runs' own report (agent/indexing/stage_clock.py).

Models (`--size`): `demo`, the shipped demo model with its preset (4 fps, 3-s chunks, frames prompted on every frame,
no descriptions); `real`, random weights at the real Sa2VA-Qwen3-VL-4B size (bench/real_size.py), written on the
device by this command (never carried), the index defaults (2 fps, 10-s chunks, 1024-px frames, key frames
prompted and the rest tracked from memory, descriptions on) and three `--watch` expressions so every chunk tracks
three objects; random weights never end an answer early, so every caption and grounded caption runs to the
128-token cap (fixed token counts; the report's tokens per chunk shows it); `tiny`, the test factory's tiny random
checkpoint with the `real` flags: the same code path in seconds, to check the GPU command before a device is used.

`--memory-only`: peak RSS of the pipelined run on a `--long-minutes` video against a `--short-minutes` one (goal:
<= 1.25x), through the same `sva index` path and model, at `--memory-sample-fps` (default 1 frame per second
instead of the preset's 4, so an hour on 2 CPU cores takes minutes, not an hour): every chunk of the hour (1,200
with the demo's 3-s chunks) is decoded, captioned, grounded, tracked, linked and committed, and the index grows
by an hour of rows; each chunk holds a quarter of the frames the preset's would, which lowers the peak of both
runs alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORLD_SEED = 91_000  # a world of its own: away from the demo's, the tests' and the other benches' seeds
ONE_AT_A_TIME = ("--decode-ahead", "0", "--commit-behind", "0", "--batch-chunks", "1", "--frame-batch", "1")
PIPELINED = ("--decode-ahead", "3", "--batch-chunks", "4", "--frame-batch", "8")


def pipelined(device: str) -> tuple[str, ...]:
    """The pipelined flags; commits go behind the analysis on CUDA only, as `sva index` does by default: on CPU a
    commit thread beside the model measured slower than committing in turn (bench/README.md)."""
    return PIPELINED + ("--commit-behind", "4" if device.startswith("cuda") else "0")
WATCH = ("a person", "a car", "a dog")  # `real` / `tiny`: objects tracked in every chunk


def _ffmpeg() -> str:
    import imageio_ffmpeg  # the pip-shipped ffmpeg command (a test dependency): encoding and looping the footage

    return imageio_ffmpeg.get_ffmpeg_exe()


def make_footage(workdir: Path, minutes: float, name: str) -> Path:
    """A `minutes`-long 1280x720 25-fps H.264 video: one synthetic world, encoded once, looped by stream copy."""
    from sa2va_engine.synthetic.world import WorldConfig, generate_world
    from tools.synthetic_video import write_world_video

    segment = workdir / "world_720p.mp4"
    if not segment.exists():
        world_video = workdir / "world.mp4"
        write_world_video(generate_world(WORLD_SEED, WorldConfig(duration_s=30.0)), world_video)
        subprocess.run([_ffmpeg(), "-v", "error", "-y", "-i", str(world_video), "-vf",
                        "scale=1280:720:flags=bicubic,fps=25", "-c:v", "libx264", "-preset", "veryfast",
                        "-pix_fmt", "yuv420p", "-an", str(segment)], check=True)
    out = workdir / name
    subprocess.run([_ffmpeg(), "-v", "error", "-y", "-stream_loop", "-1", "-i", str(segment), "-t",
                    f"{minutes * 60:.3f}", "-c", "copy", str(out)], check=True)
    return out


class _GpuPeak:
    """The most GPU memory in use on the machine (MiB, from nvidia-smi), sampled every second in a thread."""

    def __init__(self):
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _sample(self):
        while not self._stop.is_set():
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=10).stdout
                self.peak_mb = max([self.peak_mb, *(float(v) for v in out.split())])
            except (OSError, ValueError, subprocess.SubprocessError):
                return
            self._stop.wait(1.0)


def index_run(video: Path, db: Path, model_flags: tuple[str, ...], flags: tuple[str, ...], gpu: bool) -> dict:
    """`sva index` on `video`: wall seconds, CPU seconds, peak RSS (process + children), its --json report. A
    random checkpoint (`--watch` in the flags) runs every answer to its token cap (bench/sva_fixed_tokens.py)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONWARNINGS="ignore")
    env.pop("SVA_DB", None)
    env.pop("SVA_MODEL", None)
    cli = "bench.sva_fixed_tokens" if "--watch" in model_flags else "agent.cli"
    cmd = [sys.executable, "-m", cli, "index", str(video), "--db", str(db), "--json", *model_flags, *flags]
    start = time.monotonic()
    with _GpuPeak() if gpu else _NoGpu() as gpu_peak:
        child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc = psutil.Process(child.pid)
        peak, cpu = 0, {}
        while child.poll() is None:
            try:
                procs = [proc, *proc.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in procs))
                for p in procs:  # threads' CPU time, per process, as last seen alive
                    t = p.cpu_times()
                    cpu[p.pid] = t.user + t.system
            except psutil.Error:
                pass
            time.sleep(0.2)
        stdout, stderr = child.communicate()
    wall = time.monotonic() - start
    if child.returncode != 0:
        raise SystemExit(f"bench.index_throughput: sva index failed ({child.returncode}):\n{stderr[-3000:]}")
    return {"wall_s": wall, "cpu_s": sum(cpu.values()), "peak_rss_mb": peak / 2**20,
            "peak_gpu_mb": gpu_peak.peak_mb if gpu else None, "report": json.loads(stdout)}


class _NoGpu:
    peak_mb = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def model_flags(size: str, device: str, workdir: Path) -> tuple[str, ...]:
    """The `sva index` flags that choose the model: the demo's preset, or a random checkpoint written here."""
    if size == "demo":
        return ("--model", "demo", "--device", device)
    directory = workdir / f"checkpoint_{size}"
    if size == "real":
        from bench.real_size import write_real_size_checkpoint

        write_real_size_checkpoint(directory, device=device)
    else:
        from sa2va_engine.testing.tiny_checkpoint import write_tiny_checkpoint

        write_tiny_checkpoint(directory, "qwen3_vl", seed=0, objects_present=True)
    watch = [flag for expression in WATCH for flag in ("--watch", expression)]
    return ("--model", str(directory), "--device", device, *watch)


def _footage_s(video: Path) -> float:
    from tools.video_prober import probe_video

    return float(probe_video(video).duration_s)


def _stages(run: dict) -> dict:
    return run["report"]["stages"]


def throughput(args, log) -> dict:
    flags = model_flags(args.size, args.device, args.workdir)
    log(f"footage: {args.minutes:g} min and {args.short_minutes:g} min at 1280x720 ...")
    long_video = make_footage(args.workdir, args.minutes, "long.mp4")
    short_video = make_footage(args.workdir, args.short_minutes, "short.mp4")
    long_s, short_s = _footage_s(long_video), _footage_s(short_video)
    gpu = args.device.startswith("cuda")
    runs: dict[str, list[dict]] = {"one_chunk_at_a_time": [], "pipelined": []}
    for pair in range(args.repeats):
        order = ("one_chunk_at_a_time", "pipelined") if pair % 2 == 0 else ("pipelined", "one_chunk_at_a_time")
        for name in order:
            log(f"{name} ({pair + 1}/{args.repeats}) ...")
            extra = ONE_AT_A_TIME if name == "one_chunk_at_a_time" else pipelined(args.device)
            runs[name].append(index_run(long_video, args.workdir / f"{name}_{pair}.duckdb", flags, extra, gpu))
    log("pipelined on the short video ...")
    short = index_run(short_video, args.workdir / "pipelined_short.duckdb", flags, pipelined(args.device), gpu)

    single, piped = runs["one_chunk_at_a_time"], runs["pipelined"]
    wall = {name: statistics.median(r["wall_s"] for r in rs) for name, rs in runs.items()}
    cpu = {name: statistics.median(r["cpu_s"] for r in rs) for name, rs in runs.items()}
    stages = _stages(piped[0])
    total = sum(stages["seconds"].values()) or 1.0
    return {
        "pipelined_over_one_at_a_time": wall["one_chunk_at_a_time"] / wall["pipelined"],
        "each_pair": [a["wall_s"] / b["wall_s"] for a, b in zip(single, piped)],
        "cpu_s_ratio": cpu["one_chunk_at_a_time"] / cpu["pipelined"],
        "real_time_factor": {"one_chunk_at_a_time": long_s / wall["one_chunk_at_a_time"],
                             "pipelined": long_s / wall["pipelined"], "pipelined_short": short_s / short["wall_s"]},
        "footage_s": {"long": long_s, "short": short_s},
        "wall_s": {name: [r["wall_s"] for r in rs] for name, rs in runs.items()} | {"pipelined_short": short["wall_s"]},
        "cpu_s": {name: [r["cpu_s"] for r in rs] for name, rs in runs.items()} | {"pipelined_short": short["cpu_s"]},
        "peak_rss_mb": {"one_chunk_at_a_time": max(r["peak_rss_mb"] for r in single),
                        "pipelined": max(r["peak_rss_mb"] for r in piped), "pipelined_short": short["peak_rss_mb"]},
        "peak_gpu_mb": {"pipelined": max(r["peak_gpu_mb"] for r in piped), "pipelined_short": short["peak_gpu_mb"]}
        if gpu else None,
        "memory_long_over_short": max(r["peak_rss_mb"] for r in piped) / short["peak_rss_mb"],
        "stage_share_pipelined": {k: v / total for k, v in stages["seconds"].items()},
        "stage_s_one_chunk_at_a_time": _stages(single[0])["seconds"],
        "stage_s_pipelined": stages["seconds"],
        "chunks": stages["chunks"], "frames": stages["frames"], "tokens": stages["tokens"],
        "tokens_per_chunk": sum(stages["tokens"].values()) / max(stages["chunks"], 1),
    }


def memory_only(args, log) -> dict:
    flags = model_flags(args.size, args.device, args.workdir)
    sampling = ("--sample-fps", f"{args.memory_sample_fps:g}")
    log(f"footage: {args.long_minutes:g} min and {args.short_minutes:g} min at 1280x720 ...")
    videos = {"long": make_footage(args.workdir, args.long_minutes, "long.mp4"),
              "short": make_footage(args.workdir, args.short_minutes, "short.mp4")}
    runs = {}
    for name in ("short", "long"):
        log(f"pipelined on the {name} video ...")
        runs[name] = index_run(videos[name], args.workdir / f"memory_{name}.duckdb", flags, pipelined(args.device) + sampling,
                               args.device.startswith("cuda"))
    return {
        "memory_long_over_short": runs["long"]["peak_rss_mb"] / runs["short"]["peak_rss_mb"],
        "peak_rss_mb": {k: r["peak_rss_mb"] for k, r in runs.items()},
        "footage_s": {k: _footage_s(v) for k, v in videos.items()},
        "wall_s": {k: r["wall_s"] for k, r in runs.items()},
        "chunks": {k: _stages(r)["chunks"] for k, r in runs.items()},
        "frames": {k: _stages(r)["frames"] for k, r in runs.items()},
        "index_mb": {k: (args.workdir / f"memory_{k}.duckdb").stat().st_size / 2**20 for k in runs},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--short-minutes", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3, help="pairs of runs (one at a time, pipelined)")
    parser.add_argument("--size", choices=("demo", "tiny", "real"), default="demo")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--memory-only", action="store_true", help="only peak memory, long video vs short")
    parser.add_argument("--long-minutes", type=float, default=60.0, help="--memory-only: the long video")
    parser.add_argument("--memory-sample-fps", type=float, default=1.0, help="--memory-only: frames per second")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sva-throughput"))
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    report = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "size": args.size, "device": args.device}
    report |= memory_only(args, log) if args.memory_only else throughput(args, log)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
