"""Ingestion benchmark: `python bench/ingest.py [--repeats 3]` (CPU; builds its inputs from a shared clip; 5 to 10 min on a busy 2-core VM).

Prints two figures, each a ratio of two measurements taken in this same run:
  1. time to probe + decode + sample (2 fps, long side 1024 px, RGB frames in Python; PyAV, in process)
     a shared clip looped to 10 minutes, divided by the time of a plain
     `ffmpeg -i X -vf fps=2 -f null -` on the same file (the ffmpeg command imageio-ffmpeg ships,
     a test dependency): every frame decoded, the same frames kept               (goal <= 1.25)
  2. peak RSS of a process that streams 60 minutes of video through decode + chunk dealing, divided
     by the same for 1 minute; the decoder runs in that process, so its memory counts (goal <= 1.25)
The 10-minute input keeps the clip's 1280x720; the RSS inputs are the clip at 320x180 (same frame
rate) so that an hour of it decodes in well under a minute: memory is about length, not frame size.
Timings alternate ours/baseline and keep the best of `--repeats`, so a busy moment hurts neither side.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CLIP = REPO.parent / "shared" / "videos" / "01_dog.mp4"

# Runs in a fresh interpreter, so its peak RSS is one decode's alone (the decoder's memory included).
_RSS_CHILD = """
import json, resource, sys
from tools.video_chunks import iter_chunk_frames, plan_chunks
from tools.video_decode import decode_frames
from tools.video_prober import probe_video
probe = probe_video(sys.argv[1])
stream = decode_frames(sys.argv[1], probe=probe)
frames = sum(len(part.frames) for part in iter_chunk_frames(stream, plan_chunks(probe)))
print(json.dumps({"frames": stream.frames_decoded, "dealt": frames,
                  "python_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def ffmpeg_exe() -> str:
    """The baseline's ffmpeg command (and the one that builds the inputs): imageio-ffmpeg's."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def looped(source: Path, minutes: float, out: Path, scale: str | None = None) -> Path:
    """``source`` repeated to ``minutes``, without audio; re-encoded once at ``scale`` if given."""
    if scale:
        small = out.with_name(f"{source.stem}_{scale.replace(':', 'x')}.mp4")
        if not small.exists():
            run_ffmpeg("-i", str(source), "-vf", f"scale={scale}", "-an", "-c:v", "libx264", "-preset", "veryfast", str(small))
        source = small
    run_ffmpeg("-stream_loop", "-1", "-i", str(source), "-t", str(minutes * 60), "-an", "-c", "copy", str(out))
    return out


def time_ours(path: Path) -> tuple[float, int]:
    from tools.video_decode import decode_frames

    start = time.perf_counter()
    stream = decode_frames(path)  # includes the probe: that is part of ingesting a file
    frames = sum(1 for _ in stream)
    return time.perf_counter() - start, frames


def time_baseline(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
                    "-vf", "fps=2", "-f", "null", "-"], check=True)
    return time.perf_counter() - start


def peak_rss(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(path)], capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"RSS child failed on {path}:\n{done.stderr}")
    return json.loads(done.stdout)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the timed input")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import os

    import av

    baseline = subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True).stdout
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; python {platform.python_version()}")
    print(f"ours: PyAV {av.__version__} (FFmpeg {av.ffmpeg_version_info}); "
          f"baseline: {' '.join(baseline.split()[:3])} ({ffmpeg_exe()})")
    with tempfile.TemporaryDirectory(prefix="sva-bench-ingest-") as tmp:
        folder = Path(tmp)
        timed = looped(args.clip, args.minutes, folder / f"loop_{args.minutes:g}min.mp4")
        ours_s, base_s = [], []
        for _ in range(args.repeats):
            seconds, frames = time_ours(timed)
            ours_s.append(seconds)
            base_s.append(time_baseline(timed))
        ratio = min(ours_s) / min(base_s)
        print(f"decode+sample {args.minutes:g} min of {args.clip.name} (1280x720): ours {min(ours_s):.1f} s "
              f"({frames} frames), ffmpeg -vf fps=2 -f null {min(base_s):.1f} s; "
              f"ratio {ratio:.3f} (goal <= 1.25)")
        short = peak_rss(looped(args.clip, 1, folder / "rss_1min.mp4", scale="320:180"))
        long = peak_rss(looped(args.clip, 60, folder / "rss_60min.mp4", scale="320:180"))
        rss_ratio = long["python_kib"] / short["python_kib"]
        print(f"peak RSS, decoding process: 1 min {short['python_kib'] / 1024:.1f} MiB ({short['frames']} frames), "
              f"60 min {long['python_kib'] / 1024:.1f} MiB ({long['frames']} frames); ratio {rss_ratio:.3f} (goal <= 1.25)")
        print(f"date: {date.today().isoformat()}")


if __name__ == "__main__":
    main()
