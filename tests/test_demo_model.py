"""The shipped demo Sa2VA on synthetic worlds it never saw: masks, tracks, captions and event queries through
the real index and query graph, against ground truth. Floors sit a little below the figures measured by
`python -m bench.demo_accuracy` (bench/README.md), on fewer worlds."""

from __future__ import annotations

import json

import pytest

from agent.demo.demo_run import evaluate
from sa2va_engine.demo_checkpoint import DEMO_DIR, demo_model_path
from sa2va_engine.sa2va import Sa2VA
from tests.agent_fixtures import run_sva

# Measured on 30 unseen worlds (bench/README.md), every frame prompted as the demo tracks, by the model with its
# naming stage (2026-12-04): referring mIoU 0.730, masks on their own object 0.836, tracking J&F 0.811, caption
# keyword accuracy 0.206 (the model before that stage: 0.625, 0.752, 0.719, 0.372; on these tests' 10 worlds, the
# harder third for it, 0.486, 0.55, 0.583, 0.40). The model before that masked every object (0.408, 0.400, 0.496,
# 0.361 on the 30) and fails these floors. Event queries on 12 unseen 20-s videos: recall 0.889 at precision
# 0.667 (the model before: 1.0 at 0.720; on 30 minutes of footage, bench.every_moment, the naming stage took jump
# recall 0.744 -> 0.795 and precision 0.707 -> 0.816); on these tests' 3 videos 0.833 at 0.625 (before: 1.0 at
# 0.857). Three videos are a small sample, so the precision floor asks that most moments are right. Tracked by
# SAM-2's memory instead, the model before got J&F 0.546 and event precision 0.333 on them and fails both floors.
# The yes/no answer gets no floor: it is one constant (0.5 balanced accuracy, see issue #7's notes). Presence
# answered by grounding (agent/query/grounded_check.py) has a goal: a present subject scores above an absent one
# for at least 4 of 5 such pairs (ROC AUC; 0.95 on 30 worlds, bench/README.md).
# Caption keywords on 10 worlds are a small sample: the model shipped before the regions' pixels (2026-12-05) scored
# 0.35 on these and 0.206 on the 30, the one after 0.25 and 0.278; the floor is the 30 worlds' level of both, and the
# comparison with the untrained model below is what shows the captions read the frames.
FLOORS = {"refer_miou": 0.45, "track_jf": 0.55, "caption_keyword_acc": 0.2, "refer_picked_own": 0.5}
EVENT_RECALL_FLOOR = 0.8  # the goal
EVENT_PRECISION_FLOOR = 0.5  # more than half the moments right
GROUNDED_AUC_GOAL = 0.8


@pytest.fixture(scope="module")
def demo_engine():
    return Sa2VA.from_pretrained(demo_model_path())


def test_shipped_model_is_small_and_in_the_official_layout():
    files = {p.name: p.stat().st_size for p in DEMO_DIR.iterdir()}
    assert {"config.json", "model.safetensors"} <= files.keys()
    assert sum(files.values()) <= 20 * 1024**2
    config = json.loads((DEMO_DIR / "config.json").read_text())
    assert config["architectures"] == ["Sa2VAChatModelQwen"]


def test_masks_on_unseen_worlds_beat_floors_and_the_untrained_model(demo_engine, tmp_path):
    from sa2va_engine.synthetic.demo_recipe import DEMO_SAM2, language_corpus
    from sa2va_engine.testing.tiny_checkpoint import write_tiny_checkpoint

    scores = evaluate(demo_engine, str(DEMO_DIR), tmp_path, n_worlds=10, n_event_worlds=0)
    measured = {"refer_miou": scores.refer_miou, "track_jf": scores.track_jf,
                "caption_keyword_acc": scores.caption_keyword_acc, "refer_picked_own": scores.refer_picked_own}
    print(measured)
    for name, floor in FLOORS.items():
        assert measured[name] >= floor, f"{name} {measured[name]:.3f} below its floor {floor}"
    # J over all frames is the key-frame and other-frame J weighted by their counts (5 and 7 of 12).
    assert scores.track_j == pytest.approx((5 * scores.key_j + 7 * scores.other_j) / 12, abs=1e-6)
    assert scores.other_j > 0
    # The same architecture before training, on the same worlds: what training bought.
    untrained_dir = write_tiny_checkpoint(tmp_path / "untrained", "qwen3_vl", seed=0, sam2=DEMO_SAM2, hidden_size=128,
                                          layers=4, corpus=language_corpus(0), vocab_size=1200)
    untrained = evaluate(Sa2VA.from_pretrained(untrained_dir), str(untrained_dir), tmp_path, n_worlds=10,
                         n_event_worlds=0)
    assert scores.refer_miou > untrained.refer_miou + 0.15
    assert scores.track_jf > untrained.track_jf + 0.1
    # The phrase picks the object: a mask covering every object of the frame overlaps its own object more
    # than the others only by area (the untrained model here: 0.375; the previous model: 0.40 on 30 worlds).
    assert scores.refer_picked_own > untrained.refer_picked_own + 0.12
    # Captions name what is on screen: the LLM reads the frames (the curriculum's doing, bench/README.md).
    assert scores.caption_keyword_acc > untrained.caption_keyword_acc + 0.15
    # Verification means something: "Is the red dog in this video?" answered by grounding (the subject's mask and
    # its close-up names, as the demo preset verifies) tells present from absent subjects, where the untrained
    # model's answer does not depend on them.
    assert scores.grounded_presence_auc >= GROUNDED_AUC_GOAL
    assert untrained.grounded_presence_auc < 0.7


def test_event_queries_find_the_jumps_on_unseen_videos(demo_engine, tmp_path):
    # "find every moment the X jumps" for every object of 3 unseen 20-s videos, through the real index and
    # query graph (the stored events of the objects the subject resolves to: tools/track_events.py).
    scores = evaluate(demo_engine, str(DEMO_DIR), tmp_path, n_worlds=0, n_event_worlds=3)
    print(scores.events, scores.event_recall, scores.event_precision)
    assert scores.events >= 3
    assert scores.event_recall >= EVENT_RECALL_FLOOR
    assert scores.event_precision > EVENT_PRECISION_FLOOR


def test_sva_demo_prints_moments_next_to_the_truth(tmp_path):
    result = run_sva("demo", "--seed", "2000000", "--workdir", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    demo = json.loads(result.stdout)
    assert demo["question"] == "find every moment the red ball jumps" and demo["events"]
    assert demo["answer"]["plan"]["subject"] == "the red ball"
    assert demo["found"] >= 1  # a jump of the red ball found with temporal IoU >= 0.5
    for m in demo["answer"]["moments"]:
        assert 0 <= m["start_s"] <= m["end_s"] <= 20.0
    text = run_sva("demo", "--seed", "2000000", "--workdir", str(tmp_path / "again"))
    assert "ground truth jumps" in text.stdout and "found " in text.stdout
