"""Which stored event kind a plan's predicate asks for: 'jumps over the fence' -> jump, 'pulls over' -> stops_moving.

Events (`tools/track_event.py`) are read off tracks alone: a box rising and landing, a box crossing the edge of
the frame, boxes that stop, start or touch. So a verb maps to a kind only when what it says shows that way:
"leaves the building" leaves the scene, "leaves the ball behind" does not, and "barks" is no kind at all. A
wrong kind would answer with moments of something else, so anything not listed here maps to None and the
caller falls back to asking the model about clips. Closed word lists, no tagger: the vocabulary is small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from tools.track_event import EVENT_KINDS, PAIR_KINDS, STATE_KINDS, EventKind

# What may follow a phrase for it to still name the event:
# "any"         anything: how or where a jump goes does not change that it is a jump.
# "scene"       nothing, or where in the scene: "leaves", "leaves the building", "enters from the left".
# "named_scene" as "scene" but something must follow: "comes into view" enters, "comes into" says nothing.
# "path"        nothing, or a phrase led by a preposition or adverb: "stops at the line", not "stops the ball".
# "other"       the second participant, if any: "meets the white ball".
Rest = Literal["any", "scene", "named_scene", "path", "other"]

# Phrases in base form, per kind. Longer phrases are tried first, so "stop moving" wins over "stop", and
# among equal lengths the earlier kind wins: "runs into the room" enters, "runs into a car" meets.
_EVENT_PHRASES: dict[EventKind, tuple[tuple[str, Rest], ...]] = {
    "jump": (("jump", "any"), ("hop", "any"), ("leap", "any"), ("bounce", "any"), ("a jump", "any"),
             ("make a jump", "any")),
    "enters": (("enter", "scene"), ("arrive", "scene"), ("come in", "scene"), ("walk in", "scene"),
               ("run in", "scene"), ("step in", "scene"), ("drive in", "scene"), ("pull in", "scene"),
               ("come into", "named_scene"), ("walk into", "named_scene"), ("run into", "named_scene"),
               ("step into", "named_scene"), ("drive into", "named_scene"), ("pull into", "named_scene"),
               ("come on", "named_scene"), ("come onto", "named_scene")),
    "leaves": (("leave", "scene"), ("exit", "scene"), ("depart", "scene"), ("walk out", "scene"),
               ("run out", "scene"), ("go away", "scene"), ("walk away", "scene"), ("run away", "scene"),
               ("drive away", "scene"), ("go out of", "named_scene"), ("move out of", "named_scene")),
    "appears": (("appear", "path"), ("show up", "path"), ("become visible", "path"), ("emerge", "path"),
                ("pop up", "path"), ("be first seen", "path")),
    "disappears": (("disappear", "path"), ("vanish", "path"), ("hide", "path"), ("be hidden", "path"),
                   ("be lost", "path"), ("go behind", "any"), ("go out of sight", "scene")),
    "starts_moving": (("start moving", "path"), ("start to move", "path"), ("begin moving", "path"),
                      ("begin to move", "path"), ("start walking", "path"), ("start to walk", "path"),
                      ("start running", "path"), ("start driving", "path"), ("set off", "path"),
                      ("move off", "path"), ("drive off", "path"), ("pull away", "path"), ("take off", "path")),
    "stops_moving": (("stop", "path"), ("stop moving", "path"), ("stop walking", "path"), ("stop running", "path"),
                     ("stop driving", "path"), ("come to a stop", "path"), ("come to a halt", "path"),
                     ("halt", "path"), ("pull over", "path"), ("pull up", "path"), ("park", "path")),
    "meets": (("meet", "other"), ("touch", "other"), ("reach", "other"), ("bump into", "other"),
              ("run into", "other"), ("walk into", "other"), ("drive into", "other"), ("crash into", "other"),
              ("collide", "other"), ("collide with", "other"), ("make contact with", "other"),
              ("approach and touch", "other")),
    # States: every moment they hold, not the change (tools/track_events.py). "Runs" and "walks" are motion across
    # the frame, which is what a track shows of them; "runs in" (enters) and "runs into" (meets) are longer and win.
    # -ing forms that other phrases list ("start running") are words of their own to the lemmas, so listed too.
    "moving": (("move", "path"), ("moving", "path"), ("walking", "path"), ("running", "path"), ("driving", "path"),
               ("be in motion", "path"), ("walk", "path"), ("run", "path"), ("drive", "path"),
               ("roll", "path"), ("slide", "path"), ("travel", "path"), ("cross", "any"), ("pace", "path"),
               ("wander", "path")),
    "still": (("be still", "path"), ("stay still", "path"), ("stand still", "path"), ("keep still", "path"),
              ("sit still", "path"), ("lie still", "path"), ("be stationary", "path"), ("be motionless", "path"),
              ("stay put", "path"), ("be parked", "path"), ("wait", "path"), ("not move", "path"),
              ("be not moving", "path"), ("not moving", "path"), ("never move", "path"), ("stop and stay", "path"),
              ("stay parked", "path"), ("remain still", "path"), ("remain parked", "path")),
    "near": (("be near", "other"), ("be next to", "other"), ("be beside", "other"), ("be close to", "other"),
             ("be by", "other"), ("be with", "other"), ("stay near", "other"), ("stay close to", "other"),
             ("stay next to", "other"), ("stay with", "other"), ("stand near", "other"), ("stand next to", "other"),
             ("stand by", "other"), ("stand beside", "other"), ("sit next to", "other"), ("sit near", "other"),
             ("sit beside", "other"), ("wait near", "other"), ("wait by", "other"), ("be nearby", "path"), ("be close", "path"),
             ("be close together", "path"), ("be together", "path")),
    "on_left": (("be on the left", "scene"), ("be at the left", "scene"), ("be to the left", "scene"),
                ("be in the left half", "scene"), ("be on the left side", "scene"),
                ("be on the left-hand side", "scene"), ("stay on the left", "scene")),
    # Where the thing is seen at all; a thing named with no predicate asks this too (`event_kinds`).
    "visible": (("be visible", "path"), ("be seen", "path"), ("be in view", "path"), ("be in sight", "path"),
                ("be on screen", "path"), ("be on camera", "path"), ("be present", "path"), ("be in frame", "path"),
                ("be in the frame", "path"), ("be in the picture", "path")),
    "on_right": (("be on the right", "scene"), ("be at the right", "scene"), ("be to the right", "scene"),
                 ("be in the right half", "scene"), ("be on the right side", "scene"),
                 ("be on the right-hand side", "scene"), ("stay on the right", "scene")),
}  # fmt: skip


def _which_way(side: str) -> tuple[tuple[str, Rest], ...]:
    """'move left', 'walks to the left', 'drives from right to left', 'is heading left', 'moving left'."""
    other = "right" if side == "left" else "left"
    verbs = ("move", "go", "head", "walk", "run", "drive", "roll", "travel", "cross", "be heading", "be moving")
    ways = (side, f"to the {side}", f"towards the {side}", f"{side}wards", f"from {other} to {side}")
    return (*((f"{verb} {way}", "path") for verb in verbs for way in ways),
            *((f"{ing} {way}", "path") for ing in ("moving", "walking", "running", "driving") for way in ways))


# Which way a thing moves, as the camera sees it: longer than "move", so "moves left" is not a motion and a place.
_EVENT_PHRASES["moving_left"] = _which_way("left")
_EVENT_PHRASES["moving_right"] = _which_way("right")

# Event kind -> the phrases (base form) that ask for it, for the README and help texts. "<place>" marks
# where a place must follow ("come into <place>": "comes into view").
EVENT_WORDS: dict[EventKind, tuple[str, ...]] = {
    kind: tuple(f"{phrase} <place>" if rest == "named_scene" else phrase for phrase, rest in phrases)
    for kind, phrases in _EVENT_PHRASES.items()
}

# Irregular forms of the verbs above, which suffix rules cannot undo.
_IRREGULAR = {
    "is": "be", "are": "be", "was": "be", "were": "be", "been": "be", "being": "be", "am": "be",
    "has": "have", "had": "have", "does": "do", "did": "do", "done": "do",
    "left": "leave", "went": "go", "gone": "go", "came": "come", "ran": "run", "met": "meet", "hid": "hide",
    "hidden": "hide", "lost": "lose", "saw": "see", "seen": "see", "began": "begin", "begun": "begin",
    "leapt": "leap", "took": "take", "taken": "take", "stood": "stand", "drove": "drive", "driven": "drive",
    "became": "become", "made": "make", "showed": "show", "shown": "show",
}  # fmt: skip
# Words before the verb that only frame it: auxiliaries, aspect ("starts jumping", "keeps hopping") and
# adverbs. A negation is not among them, so "does not jump" and "never stops" name no event.
_FRAMING_WORDS = {
    "do", "have", "will", "can", "could", "would", "may", "might", "start", "begin", "keep", "to",
    "then", "suddenly", "finally", "quickly", "slowly", "just", "again", "also",
}  # fmt: skip
# Lemmas a word may be reduced to; a suffix is only taken off when what is left is one of these, so
# "bounces" becomes "bounce" and "touches" "touch" without a general stemmer's guesses.
_VOCABULARY = {word for phrases in _EVENT_PHRASES.values() for phrase, _ in phrases for word in phrase.split()}
_VOCABULARY |= set(_IRREGULAR.values()) | _FRAMING_WORDS
_SUFFIXES = (("ies", "y"), ("ied", "y"), ("es", ""), ("s", ""), ("ed", ""), ("d", ""), ("ing", ""), ("ing", "e"))

# Manner words that may trail a place or a participant without changing the event.
_ADVERBS = ("quickly", "slowly", "suddenly", "again", "fast", "finally", "completely", "briefly", "together",
            "then", "now")  # fmt: skip
# Where-words of the scene a track can enter or leave: the frame itself, or a place that fills it.
_PLACES = (
    "frame", "scene", "view", "sight", "picture", "shot", "screen", "camera", "area", "room", "building",
    "house", "shop", "store", "office", "garage", "yard", "driveway", "door", "doorway", "gate", "entrance",
    "exit", "left", "right", "top", "bottom", "side", "sides", "edge", "corner", "distance", "background",
    "foreground",
)  # fmt: skip
_PLACE_PREPOSITIONS = ("of", "from", "into", "in", "on", "onto", "out", "through", "at", "to", "towards",
                       "toward", "via", "off", "across")  # fmt: skip
_DETERMINERS = ("the", "a", "an", "this", "that", "its", "his", "her", "their", "our", "my")


def _alternatives(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(word) for word in words)


_PREPOSITION = rf"(?:{_alternatives(_PLACE_PREPOSITIONS)})"
# One where-phrase: "the building", "out of the frame", "from the left side", "the camera's field of view".
_PLACE_PHRASE = (
    rf"(?:{_PREPOSITION}\s+)*(?:(?:{_alternatives(_DETERMINERS)})\s+)?"
    rf"(?:(?!{_PREPOSITION}\b)[\w'-]+\s+){{0,2}}(?:field\s+of\s+view|{_alternatives(_PLACES)})"
)
# One item of what may follow a "scene" phrase: a where-phrase or a manner word. A run of items is split by
# `_scene_rest` over words, not by a regex `(?:item)*`: a place word may also be one of the two words before a
# place, so such a regex tries every split of "frame frame ... frame x" (~1.8**n) before it fails.
_SCENE_ITEM_RE = re.compile(rf"{_PLACE_PHRASE}|{_alternatives(_ADVERBS)}")
_PLACE_PHRASE_RE = re.compile(_PLACE_PHRASE)
# Words of one where-phrase after its prepositions: a determiner, two words, "field of view".
_ITEM_TAIL_WORDS = 6
# Words that open a path phrase rather than name an object acted on.
_PATH_WORDS = set(_PLACE_PREPOSITIONS) | set(_ADVERBS) | {
    "near", "by", "behind", "beside", "next", "along", "over", "under", "around", "past", "down", "up", "away",
    "back", "forward", "ahead", "here", "there", "for", "with", "outside", "inside",
}  # fmt: skip


def _lemma(word: str) -> str:
    """The base form of `word` when it is a form of a listed verb ('stopped' -> 'stop'), else `word` itself."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word in _VOCABULARY:
        return word
    for suffix, replacement in _SUFFIXES:
        if not word.endswith(suffix) or len(word) <= len(suffix) + 1:
            continue
        stem = word[: -len(suffix)] + replacement
        if stem in _VOCABULARY:
            return stem
        # "stopped", "hopping", "setting": the last consonant was doubled before the suffix.
        if len(stem) > 2 and stem[-1] == stem[-2] and stem[:-1] in _VOCABULARY:
            return stem[:-1]
    return word


@dataclass(frozen=True)
class _Phrase:
    kind: EventKind
    lemmas: tuple[str, ...]
    rest: Rest


_PHRASES: tuple[_Phrase, ...] = tuple(
    sorted(
        (
            _Phrase(kind, tuple(_lemma(word) for word in phrase.split()), rest)
            for kind, phrases in _EVENT_PHRASES.items()
            for phrase, rest in phrases
        ),
        key=lambda phrase: -len(phrase.lemmas),  # stable: equal lengths keep the table's kind order
    )
)


def _rest_fits(rest: Rest, words: list[str]) -> bool:
    """Whether `words` (lower case), what follows a phrase, is allowed by its `rest` rule."""
    if rest in ("any", "other"):
        return True
    if rest == "path":
        return not words or words[0] in _PATH_WORDS
    if rest == "named_scene" and not words:
        return False
    return _scene_rest(words)


def _scene_rest(words: list[str]) -> bool:
    """Whether `words` (lower case) split into where-phrases and manner words (`_SCENE_ITEM_RE`); none is a split.

    Dynamic programming over word positions, linear in len(words): an item that starts with a preposition is
    a where-phrase that takes every preposition in a row there (no other part of it may be one), then at most
    `_ITEM_TAIL_WORDS` words, which alone are a where-phrase too; so only those few words are matched.
    """
    n = len(words)
    fits = [False] * n + [True]  # fits[i]: words[i:] split into items
    prepositions = [0] * (n + 1)  # prepositions[i]: how many of words[i:] in a row are prepositions
    for start in reversed(range(n)):
        prepositions[start] = prepositions[start + 1] + 1 if words[start] in _PLACE_PREPOSITIONS else 0
        tail = start + prepositions[start]
        item = _PLACE_PHRASE_RE if prepositions[start] else _SCENE_ITEM_RE
        fits[start] = any(
            fits[end] and item.fullmatch(" ".join(words[tail:end])) is not None
            for end in range(tail + 1, min(n, tail + _ITEM_TAIL_WORDS) + 1)
        )
    return fits[0]


def _match(words: list[str]) -> tuple[EventKind, list[str]] | None:
    """The kind of the longest phrase that starts `words` and accepts what follows it, and what follows."""
    lowered = [word.lower() for word in words]
    lemmas = tuple(_lemma(word) for word in lowered)
    for phrase in _PHRASES:
        size = len(phrase.lemmas)
        if lemmas[:size] == phrase.lemmas and _rest_fits(phrase.rest, lowered[size:]):
            return phrase.kind, words[size:]
    return None


def _frames_the_verb(words: list[str]) -> bool:
    """Whether the first word only frames the verb after it ('does', 'suddenly', 'starts').

    A form of "be" frames only a verb in -ing: "is jumping" is a jump, "is parked" a state, not a stop.
    """
    first = _lemma(words[0].lower())
    if first == "be":
        return len(words) > 1 and words[1].lower().endswith("ing")
    return first in _FRAMING_WORDS


# "doesn't", "isn't", "can't": the negation as a word of its own, which the phrases of "still" read.
_NEGATION_RE = re.compile(r"\b(?:(can)'t|(won)'t|(\w+)n't)\b", re.IGNORECASE)


def negations_apart(text: str) -> str:
    """'doesn't' -> 'does not', "can't" -> 'can not', "won't" -> 'will not' (a typographic apostrophe too): the
    negation a word of its own, for these phrases and for the question parser."""
    return _NEGATION_RE.sub(lambda m: f"{m.group(1) or ('will' if m.group(2) else m.group(3))} not",
                            text.replace("’", "'"))


def _event(predicate: str | None) -> tuple[EventKind, list[str]] | None:
    """The event kind `predicate` asks for and the words after its phrase, or None."""
    words = re.findall(r"[a-z]+(?:['-][a-z]+)*", negations_apart(predicate or ""), re.IGNORECASE)
    while words:
        found = _match(words)
        if found is not None:
            return found
        if not _frames_the_verb(words):
            return None
        words = words[1:]
    return None


def event_kind(predicate: str | None) -> EventKind | None:
    """The stored event kind a plan's predicate asks for ('leaves the building' -> 'leaves'), or None."""
    found = _event(predicate)
    return None if found is None else found[0]


# "near each other", "meet one another": the second participant is the other half of the subject (`pair_parts`).
_RECIPROCALS = {"each other", "one another"}


def event_object(predicate: str | None) -> str | None:
    """The second participant of a two-object event as written ('bumps into a car' -> 'a car'), or None (also for
    'each other')."""
    found = _event(predicate)
    if found is None or found[0] not in PAIR_KINDS:
        return None
    rest = found[1]
    # Trailing adverbs say how they met, not whom: "collides with the van again".
    while rest and rest[-1].lower() in _ADVERBS:
        rest = rest[:-1]
    text = " ".join(rest)
    return None if not text or text.lower() in _RECIPROCALS else text


def pair_parts(subject: str) -> tuple[str, str] | None:
    """The two participants of a coordinated subject ('the red ball and the blue box' -> both phrases), for a
    two-object event or state asked without a second one ("when do A and B meet", "when are A and B near each
    other"); None when the subject is not two phrases joined by one 'and'."""
    parts = [part.strip() for part in re.split(r"\s+and\s+", subject.strip(), flags=re.IGNORECASE)]
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


# Predicates that ask only whether the subject is there ("when is the dog visible"): what a presence check answers.
_PRESENCE = re.compile(
    r"^(?:(?:is|are|was|were|be|being|gets?|can be|could be|will be)\s+)?(?:still\s+|clearly\s+)?"
    r"(?:visible|seen|shown|present|there|around|in (?:view|sight|shot|frame|the (?:frame|picture|shot|scene|video))|"
    r"on (?:screen|camera|the screen))$", re.IGNORECASE)


def asks_presence(predicate: str | None) -> bool:
    """Whether the plan asks only where the subject is: no predicate, or one that says only that it is seen."""
    return predicate is None or bool(_PRESENCE.match(" ".join(predicate.split())))


# The predicate the parser gives "what does the dog do", "what is the dog doing", "what happened to the dog": every
# event the subject's track shows. States are left out: they hold most of the time ("moving"), and an answer of
# every span of them would bury the changes asked about.
DESCRIBE_PREDICATE = "does what"
DESCRIBE_KINDS: tuple[EventKind, ...] = tuple(k for k in EVENT_KINDS if k not in STATE_KINDS)
_DESCRIBE = re.compile(r"^(?:(?:is|are|was|were|has been|have been)\s+)?(?:does|do|did|doing|done)\s+what$|"
                       r"^(?:what\s+)?(?:happens|happened|happen)(?:\s+to)?$", re.IGNORECASE)


def describes(predicate: str | None) -> bool:
    """Whether the plan asks what its subject does at all (`DESCRIBE_PREDICATE` and its forms), not one event."""
    return predicate is not None and bool(_DESCRIBE.match(" ".join(predicate.split())))


# A state that does not hold is asked for as a kind of its own, the state's name after this: "not_near", "not_visible".
NOT = "not_"


def is_state(kind: str) -> bool:
    """A stored state, or the time one does not hold ("not_near")."""
    return kind in STATE_KINDS or kind.startswith(NOT)
# "is not near the box", "is never on the left", "isn't visible": the state after the negation.
_NEGATED = re.compile(r"^(?:(?:is|are|was|were|be|being|gets?|stays?)\s+)?(?:not|never)\s+(?P<state>.+)$", re.IGNORECASE)
# "is out of view", "is gone", "is missing": not visible.
_ABSENT = re.compile(r"^(?:(?:is|are|was|were|be|goes|went|gets?)\s+)?(?:out\s+of\s+(?:view|sight|shot|frame|the\s+"
                     r"(?:frame|picture|shot))|gone|missing|absent|off[\s-]?screen|not\s+there)$", re.IGNORECASE)


def negated_state(predicate: str | None) -> tuple[EventKind, str] | None:
    """The state a negated predicate denies and its own predicate ('is not near the box' -> ('near', 'is near the
    box')), or None. Only states: an event that does not happen has no span."""
    text = " ".join(negations_apart(predicate or "").split())
    if _ABSENT.match(text):
        return "visible", "is visible"
    match = _NEGATED.match(text)
    if match is None:
        return None
    inner = "is " + match.group("state")
    kind = event_kind(inner) or ("visible" if asks_presence(inner) else None)
    return (kind, inner) if kind in STATE_KINDS else None


def event_kinds(predicate: str | None) -> list[EventKind]:
    """Every stored kind a predicate asks for: one ('jumps'), each of 'jumps or stops' ('arrive and leave') when every
    part names one,
    every event kind for 'does what' (`describes`), 'visible' for presence (`asks_presence`: none, 'is seen'),
    `NOT` + a state for its negation ('is not near the box', 'is out of view'), none when it names no kind."""
    if describes(predicate):
        return list(DESCRIBE_KINDS)
    parts = re.split(r"\s+(?:or|and)\s+", predicate or "", flags=re.IGNORECASE)
    kinds = [event_kind(part) for part in parts]
    if len(parts) > 1 and all(kinds):
        return list(dict.fromkeys(k for k in kinds if k))
    kind = event_kind(predicate)
    if kind:
        return [kind]
    negated = negated_state(predicate)
    if negated is not None:  # "is not near the box": the time the state does not hold (not a stored kind)
        return [NOT + negated[0]]  # type: ignore[list-item]
    # "when is the dog visible", or only a thing named ("the red car"): where it is seen, a state like the others.
    return ["visible"] if asks_presence(predicate) else []


_EDGE = re.compile(r"\b(left|right|top|bottom)\b", re.IGNORECASE)


def edge_of(predicate: str | None) -> str | None:
    """The frame edge an 'enters' or 'leaves' predicate names ('enters from the left', 'leaves the frame at the top',
    'exits on the right side'), or None (any edge)."""
    if event_kind(predicate) not in ("enters", "leaves"):
        return None
    found = _EDGE.search(predicate or "")
    return found.group(1).lower() if found else None
