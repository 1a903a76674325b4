"""Accuracy of the shipped demo Sa2VA on synthetic worlds it never saw (one command):

    .venv/bin/python -m bench.demo_accuracy [--worlds 40] [--event-worlds 8]

Prints referring-segmentation mean IoU (key frames), tracking J&F (all frames), caption keyword accuracy,
and for event queries ("find every moment the X jumps" through the real index + query graph) the share of
ground-truth jumps found with a moment of temporal IoU >= 0.5 (goal >= 80%) and the precision of moments.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from agent.demo.demo_run import evaluate
from sa2va_engine.demo_checkpoint import demo_model_path
from sa2va_engine.user_error import UserError
from sa2va_engine.sa2va import Sa2VA


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worlds", type=int, default=40)
    parser.add_argument("--event-worlds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default=None, help="checkpoint directory (default: the shipped demo model)")
    parser.add_argument("--memory", action="store_true",
                        help="track as SAM-2's memory carries the key frames (default: every frame prompted, as the demo)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = args.model or str(demo_model_path())
    try:
        engine = Sa2VA.from_pretrained(model)
    except UserError as exc:  # a wrong --model: one line, no traceback
        raise SystemExit(f"bench.demo_accuracy: {exc}") from None
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as work:
        scores = evaluate(engine, model, Path(work), args.worlds, n_event_worlds=args.event_worlds, log=print,
                          prompt_every_frame=not args.memory)
    print(f"unseen worlds: {scores.worlds} clips (masks, captions), {args.event_worlds} videos with {scores.events} jumps")
    print(f"referring segmentation mean IoU (key frames): {scores.refer_miou:.3f}")
    print(f"referring masks that overlap their own object more than any other (clips with 2+ objects): "
          f"{scores.refer_picked_own:.3f}")
    print(f"tracking J&F (all frames): {scores.track_jf:.3f}  (J {scores.track_j:.3f}, F {scores.track_f:.3f})")
    print(f"tracking J on the key frames the LLM saw {scores.key_j:.3f}, on the other frames {scores.other_j:.3f}")
    print(f"caption keyword accuracy: {scores.caption_keyword_acc:.3f}")
    print(f"yes/no balanced accuracy on the clips: jumps {scores.jump_question_acc:.3f}, "
          f"presence {scores.presence_question_acc:.3f}  (0.5 = chance)")
    print(f"yes/no ROC AUC of P(yes): jumps {scores.jump_question_auc:.3f}, presence {scores.presence_question_auc:.3f}")
    print(f"the same questions answered by grounding (the subject's mask and its close-up names), ROC AUC: "
          f"jumps {scores.grounded_jump_auc:.3f}, presence {scores.grounded_presence_auc:.3f}")
    print(f"event recall (tIoU >= 0.5): {scores.event_recall:.3f}   precision: {scores.event_precision:.3f}")
    print(f"({time.monotonic() - start:.0f} s)")


if __name__ == "__main__":
    main()
