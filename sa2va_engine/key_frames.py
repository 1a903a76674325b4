"""Which frames of a clip the LLM sees: Sa2VA is trained with five frames per video question."""

from __future__ import annotations

LLM_FRAMES = 5
# The one wording of `Sa2VA.track(prompt_every_frame=True)` for every setting and option that passes it on.
PROMPT_EVERY_FRAME_HELP = ("the [SEG] prompt segments every frame alone instead of SAM-2's memory carrying the "
                           "key frames (the default, and the reference's video inference)")


def key_frame_indices(count: int, n: int = LLM_FRAMES) -> list[int]:
    """Positions of ``n`` frames spread evenly over ``count`` (first and last included)."""
    if count <= n:
        return list(range(count))
    return sorted({round(i * (count - 1) / (n - 1)) for i in range(n)}) if n > 1 else [0]
