"""The colour words of a name or a question ("the red dog" -> {"red"}), and whether two of them clash.

Colour is what a sentence embedding barely tells apart ("the red ball" / "the white ball", cosine 0.73) and what the
demo model names most reliably up close (0.98 of objects, bench/README.md), so two places decide by it: subject
resolution (agent/query/subject_resolution.py) and the check of which object in a mask did an event
(index/event_store.py).
"""

from __future__ import annotations

import re

COLOURS = frozenset({
    "red", "blue", "green", "yellow", "white", "black", "grey", "gray", "brown", "orange", "pink", "purple",
    "silver", "gold", "golden",
})  # fmt: skip


def colours_in(text: str) -> set[str]:
    """The colour words anywhere in `text`, lower case."""
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w in COLOURS}


def colours_differ(a: str, b: str) -> bool:
    """Both name colours and share none ("the red ball" / "the white ball"; not "the ball" / "the white ball")."""
    ca, cb = colours_in(a), colours_in(b)
    return bool(ca and cb and not (ca & cb))
