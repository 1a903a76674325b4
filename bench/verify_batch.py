"""Yes/no verification of several chunks in one forward pass vs one chunk at a time, same run, same clips.

    python -m bench.verify_batch [--clips 8] [--repeats 5] [--model demo]

Clips are unseen synthetic worlds' first frames (5 LLM frames each, some shorter, so prompts are padded); the
figure is the median wall time of each way over `--repeats`, and their ratio. Also checks the two give the same
P(yes) (to 1e-4), or the timing would compare different work.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from agent.demo.demo_run import UNSEEN_SEEDS
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.synthetic.world import WorldConfig, generate_world
from tools.engine_session import model_name

QUESTION = "In this video, does the following happen: the red ball jumps?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default="demo")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: as the benches run sva)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    engine = Sa2VA.from_pretrained(model_name(args.model))
    clips = []
    for k in range(args.clips):
        world = generate_world(UNSEEN_SEEDS + 30_000 + k, WorldConfig(duration_s=3.0))
        clips.append([world.frame(i) for i in range(5 if k % 3 else 3)])
    alone = [engine.yes_probability(c, QUESTION) for c in clips]  # warm-up, and the reference answers
    together = engine.yes_probabilities(clips, QUESTION)
    worst = max(abs(a - b) for a, b in zip(alone, together))
    if worst > 1e-4:
        raise SystemExit(f"batched P(yes) differs from one at a time by {worst:.2e}")
    loop, batch = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        for clip in clips:
            engine.yes_probability(clip, QUESTION)
        loop.append(time.perf_counter() - t)
        t = time.perf_counter()
        engine.yes_probabilities(clips, QUESTION)
        batch.append(time.perf_counter() - t)
    one, many = statistics.median(loop), statistics.median(batch)
    print(f"{args.clips} clips, {args.threads} thread(s): one at a time {one:.3f} s, batched {many:.3f} s, "
          f"ratio {one / many:.2f}x (max |dP| {worst:.1e})")


if __name__ == "__main__":
    main()
