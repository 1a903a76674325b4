"""Verification by grounding: how surely a clip holds the question's subject, read from what the model segments for
it and what the model calls that segment seen up close, instead of from its yes/no answer.

Why: a model's P(yes) is only as good as its yes/no training. The shipped demo model's is a constant (ROC AUC 0.52
for "Is the red dog in this video?" on unseen worlds), while the same model's masks and close-up names do carry
the answer: a subject that is not there gets an empty mask on most frames, or a mask on something the model then
names as something else ("the red ball" segmented where only a red box is, named "the red box" up close). On 30
unseen 3-s worlds (bench/README.md), the share of frames with a mask alone has ROC AUC 0.87 for presence, and with
the names' agreement 0.95. A model whose yes/no was trained (official checkpoints) keeps `verify_by="answer"`.

    p_yes = seen share x (1 + agreement) / 2

- seen share: the frames of the clip on which the subject's track has a mask (SAM-2's object score >= 0.5);
- agreement: the mean verdict of subject resolution's rule (agent/query/subject_resolution.py, `judge_name`) on the
  names the model gives up close to the track's NAMED_FRAMES masks nearest its median area (accepted 1, ambiguous
  0.5, rejected 0); a name the model cannot give counts as ambiguous. Typical masks, not the largest: a track's
  largest masks are where it spills onto a second object.

So a subject seen throughout and named as asked scores 1; seen throughout but named as something else, 0.5 (the
segment may be the subject, named wrong); never seen, 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pydantic import BaseModel, Field

from agent.query.subject_resolution import judge_name, texts_to_embed
from index.embedder import TextEmbedder
from sa2va_engine.masklet import Masklet
from tools.clip import Clip
from tools.sa2va_region import RegionRequest, name_regions

if TYPE_CHECKING:
    from sa2va_engine.sa2va import Sa2VA

# Names are asked on a few of the track's masks, since one view can be ambiguous (a dog seen from the front); each is
# one short generation, batched.
NAMED_FRAMES = 3
_AGREEMENT = {"accepted": 1.0, "ambiguous": 0.5, "rejected": 0.0}


class GroundedCheck(BaseModel):
    p_yes: float = Field(ge=0, le=1)
    seen_share: float = Field(ge=0, le=1, description="frames on which the subject's track has a mask")
    agreement: float = Field(ge=0, le=1, description="how the close-up names agree with the subject")
    names: list[str | None] = Field(default_factory=list, description="the close-up names, the mask nearest the median area first")

    def how(self) -> str:
        named = ", ".join(f"'{n}'" for n in self.names if n) or "no name"
        return (f"grounded: the subject's mask on {self.seen_share:.0%} of frames, named {named} up close "
                f"(agreement {self.agreement:.2f})")


def grounded_check(engine: "Sa2VA", clip: Clip, masklet: Masklet, subject: str, embedder: TextEmbedder) -> GroundedCheck:
    """The module docstring's p_yes for `subject` on `clip`, given the subject's track over the clip's frames."""
    return grounded_checks(engine, [(clip, masklet)], subject, embedder)[0]


def grounded_checks(engine: "Sa2VA", tracked: list[tuple[Clip, Masklet]], subject: str,
                    embedder: TextEmbedder) -> list[GroundedCheck]:
    """`grounded_check` of several clips (a batch of candidate chunks): every close-up name in one batched
    generation, every name in one embedding call."""
    asked: list[list[RegionRequest]] = []
    shares: list[float] = []
    for clip, masklet in tracked:
        points = masklet.points
        seen = [i for i, p in enumerate(points) if p.present and p.box is not None]
        shares.append(len(seen) / len(points) if points else 0.0)
        if not seen:
            asked.append([])
            continue
        median = float(np.median([points[i].area for i in seen]))
        typical = sorted(seen, key=lambda i: (abs(points[i].area - median), -points[i].area))[:NAMED_FRAMES]
        # A track has one point per frame of the clip it was made on.
        asked.append([RegionRequest(frame=clip.frames[i], box=points[i].box, max_new_tokens=16) for i in typical])
    names = name_regions(engine, [r for requests in asked for r in requests])
    usable = [n for n in names if n]
    vectors = dict(zip(texts := texts_to_embed(subject, usable), embedder.embed(texts))) if usable else {}
    checks, first = [], 0
    for share, requests in zip(shares, asked):
        if not share:
            checks.append(GroundedCheck(p_yes=0.0, seen_share=0.0, agreement=0.0))
            continue
        own = names[first:first + len(requests)]
        first += len(requests)
        verdicts = [_AGREEMENT[judge_name(subject, n, vectors).verdict] if n else _AGREEMENT["ambiguous"] for n in own]
        agreement = sum(verdicts) / len(verdicts) if verdicts else _AGREEMENT["ambiguous"]
        checks.append(GroundedCheck(p_yes=share * (1 + agreement) / 2, seen_share=share, agreement=agreement,
                                    names=own))
    return checks
