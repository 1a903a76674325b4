"""The gate of verification by grounding, calibrated (one command):

    .venv/bin/python -m bench.grounded_threshold [--worlds 40] [--model DIR]

"Is <subject> in this video?" for every object of unseen 3-s worlds (seeds from 2,000,000, not the accuracy
figures' 1,000,000) and two names no object of the world has, answered by grounding (agent/query/grounded_check.py,
on the clip at the demo's 4 fps, every frame prompted). Prints the ROC AUC of P(yes) and of its two factors, and the
balanced accuracy at each threshold; the best is the preset's `threshold` (sa2va_engine/synthetic/demo_recipe.py).
"""

from __future__ import annotations

import argparse

import torch

from agent.demo.demo_run import grounded_answers
from agent.demo.metrics import balanced_accuracy, roc_auc
from sa2va_engine.demo_checkpoint import demo_model_path
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.synthetic.world import WorldConfig, generate_world
from sa2va_engine.user_error import UserError

CALIBRATION_SEEDS = 2_000_000
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SAMPLE_FPS = 4.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worlds", type=int, default=40)
    parser.add_argument("--model", default=None, help="checkpoint directory (default: the shipped demo model)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:
        engine = Sa2VA.from_pretrained(args.model or str(demo_model_path()))
    except UserError as exc:
        raise SystemExit(f"bench.grounded_threshold: {exc}") from None
    rows = []  # (p_yes, seen share, agreement, present)
    for k in range(args.worlds):
        world = generate_world(CALIBRATION_SEEDS + k, WorldConfig(duration_s=3.0))
        rows += [(a.p_yes, a.seen_share, a.agreement, a.present)
                 for a in grounded_answers(engine, world, sample_fps=SAMPLE_FPS)]
    truths = [r[3] for r in rows]
    print(f"{len(rows)} questions ({sum(truths)} present) on {args.worlds} worlds from seed {CALIBRATION_SEEDS}")
    for i, name in enumerate(("P(yes)", "seen share", "names' agreement")):
        print(f"ROC AUC of {name}: {roc_auc([r[i] for r in rows], truths):.3f}")
    accuracy = {t: balanced_accuracy([(r[0] >= t, r[3]) for r in rows]) for t in THRESHOLDS}
    for t, acc in accuracy.items():
        print(f"threshold {t:.1f}: balanced accuracy {acc:.3f}")
    best = max(accuracy, key=lambda t: (accuracy[t], -t))
    print(f"best threshold {best:.1f} (balanced accuracy {accuracy[best]:.3f})")


if __name__ == "__main__":
    main()
