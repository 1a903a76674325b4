"""Turning a user's question into a `QueryPlan`: first by the model, else by rules.

The model is better at odd phrasings but can answer prose, broken JSON or a subject it made up; this module
only accepts its answer when it validates and names words the user actually wrote. When it does not, the
deterministic fallback parser below is used, so `sva query` always gets a plan (or a one-line user error).
No model is called here: the caller passes the model's raw text in.

The fallback works in the order the phrases are least ambiguous: video names (they have file extensions),
then time phrases (they have numbers and units), then the request words around the question ("find every
moment ..."), and last the split of what is left into a subject and a predicate, unless the event is named
by a noun ("falls of the skier", "the dog's jumps"), which becomes a verb ("falls", "jumps") that
`agent.query.event_verbs` can map to a stored event kind.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from agent.query.event_verbs import DESCRIBE_PREDICATE, event_kind, negations_apart
from agent.query.query_plan import QueryPlan
from sa2va_engine.user_error import UserError
from tools.track_event import STATE_KINDS


class QueryParseError(UserError):
    """The question names nothing that can be searched for, or contradicts itself."""


# ---------------------------------------------------------------------------------------------------------
# What a question may be, before anything reads it
# ---------------------------------------------------------------------------------------------------------

# The longest question accepted, in characters (code points). A question names one thing, what it does, where
# and when; the longest in the parser's test tables (tests/test_query_parse.py, test_query_forms.py) has 66
# characters, so 2,000 leaves room for any real question while keeping the parser's regexes, the model's
# prompt and every message that quotes the question small. Longer input is refused, not cut: a cut question
# asks something else.
MAX_QUESTION_CHARS = 2_000
# The subject of a question that names no thing ("what jumps", "find every jump"): every stored object
# (agent/query/subject_resolution.py reads it so).
ANY_SUBJECT = "anything"
# How much of a question an error message quotes.
_SHOWN_CHARS = 60


def _shown(question: str) -> str:
    """`question` quoted for a one-line message: repr escapes what is not printable, a long one is cut."""
    return repr(question if len(question) <= _SHOWN_CHARS else question[:_SHOWN_CHARS] + "...")


def _refused_character(question: str) -> tuple[int, str] | None:
    """(index, character) of the first control character that is not whitespace (NUL, ESC, DEL, C1 controls)
    or lone surrogate (a byte the terminal's encoding could not decode), else None."""
    for index, char in enumerate(question):
        if not char.isspace() and unicodedata.category(char) in ("Cc", "Cs"):
            return index, char
    return None


def checked_question(question: str) -> str:
    """`question` as the query graph reads it: every run of whitespace (tabs, newlines, other line breaks)
    one space, no space at either end. Raises QueryParseError, naming what to do, when it is longer than
    MAX_QUESTION_CHARS, holds another control character or an undecodable byte, or is empty.

    Control characters are refused rather than dropped: what is left of an escape sequence ('[31m') would
    become words of the subject, and nobody types a NUL on purpose. The length is checked first, so a
    megabyte is refused without being scanned.
    """
    if len(question) > MAX_QUESTION_CHARS:
        raise QueryParseError(
            f"query is {len(question):,} characters long, over the limit of {MAX_QUESTION_CHARS:,}; ask a shorter "
            "question: the thing to find, what it does, and where or when"
        )
    refused = _refused_character(question)
    if refused is not None:
        index, char = refused
        if unicodedata.category(char) == "Cs":
            raise QueryParseError(
                f"query {_shown(question)} has a byte that is not text at character {index + 1}; "
                "type it again in a UTF-8 terminal"
            )
        raise QueryParseError(
            f"query {_shown(question)} has a control character (U+{ord(char):04X}) at character {index + 1}; "
            "remove it (spaces, tabs and newlines are fine)"
        )
    cleaned = " ".join(question.split())
    if not cleaned:
        raise QueryParseError(
            f"query {_shown(question)} is empty; ask for something to find, e.g. 'every moment the dog jumps'"
        )
    return cleaned


# ---------------------------------------------------------------------------------------------------------
# The model path
# ---------------------------------------------------------------------------------------------------------

# The keys the model fills; `question` and `parsed_by` are ours, so they are neither asked for nor trusted.
_MODEL_KEYS = ("subject", "predicate", "video", "start_s", "end_s")

_PROMPT_EXAMPLES = (
    (
        "find every moment the dog jumps",
        {"subject": "the dog", "predicate": "jumps", "video": None, "start_s": None, "end_s": None},
    ),
    (
        "is the red car in cam3.mp4 before 1:30?",
        {"subject": "the red car", "predicate": None, "video": "cam3.mp4", "start_s": None, "end_s": 90.0},
    ),
    # A question about no thing in particular, and one about everything a thing does (`describes`).
    ("show me every jump", {"subject": "anything", "predicate": "jumps", "video": None, "start_s": None, "end_s": None}),
    (
        "what does the dog do after 1:00",
        {"subject": "the dog", "predicate": "does what", "video": None, "start_s": 60.0, "end_s": None},
    ),
)


def _model_schema() -> dict:
    """QueryPlan's JSON schema cut down to the keys the model fills, so the model sees no fields it must not set."""
    full = QueryPlan.model_json_schema()
    return {
        "type": "object",
        # Titles only repeat the key names; leaving them out keeps the prompt short for a small model.
        "properties": {
            key: {name: value for name, value in full["properties"][key].items() if name != "title"}
            for key in _MODEL_KEYS
        },
        "required": ["subject"],
        "additionalProperties": False,
    }


def plan_prompt(question: str) -> str:
    """The instruction for the LLM (text only): answer one JSON object describing `question`'s search plan."""
    examples = "\n".join(f"Question: {example}\nAnswer: {json.dumps(answer)}" for example, answer in _PROMPT_EXAMPLES)
    return (
        "You turn a question about videos into a search plan.\n"
        "Answer ONLY with one JSON object with the keys subject, predicate, video, start_s, end_s; no other text.\n"
        "subject: the thing to find, as a short referring expression using the question's own words.\n"
        "predicate: what the subject does or is, or null if the question only names a thing.\n"
        "video: a video file name written in the question, or null.\n"
        "start_s, end_s: a time filter in seconds from the start of the video, or null.\n"
        f"JSON schema:\n{json.dumps(_model_schema())}\n"
        f"{examples}\n"
        f"Question: {question}\nAnswer:"
    )


def _first_json_object(text: str) -> dict | None:
    """The first `{...}` in `text` that decodes as a JSON object; prose and ``` fences around it are ignored."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _word_stems(text: str) -> set[str]:
    """Lower-case words with a plural/possessive 's' dropped, so 'dogs' and "dog's" both match 'dog'."""
    return {_stem(word) for word in re.findall(r"[\w']+", text.lower())}


def _stem(word: str) -> str:
    word = word.removesuffix("'s").strip("'")
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _grounded_in_question(plan: QueryPlan, question: str) -> bool:
    """True when every word of the subject (besides determiners) and the video name appear in the question.

    A model that answers a subject the user never wrote ('the dog' for '... the puppy ...') would send
    retrieval and tracking after the wrong thing; the fallback parser is safer than that.
    """
    question_words = _word_stems(question) | {ANY_SUBJECT}  # the plan's word for "no thing in particular"
    subject_words = _word_stems(plan.subject) - _DETERMINERS
    if not subject_words or not subject_words <= question_words:
        return False
    return plan.video is None or plan.video.lower() in question.lower()


def plan_from_model_text(question: str, text: str) -> QueryPlan | None:
    """The plan in the model's raw answer, or None when it has no valid, grounded JSON plan.

    JSON types must match the schema exactly (strict validation): a model that writes "ten minutes" for
    start_s has misunderstood the task, and guessing what it meant is the fallback parser's job.
    """
    data = _first_json_object(text)
    if data is None:
        return None
    fields = {key: data[key] for key in _MODEL_KEYS if key in data}
    try:
        plan = QueryPlan.model_validate({**fields, "question": question, "parsed_by": "model"}, strict=True)
    except ValidationError:
        return None
    if not _grounded_in_question(plan, question):
        return None
    # Which occurrence, the most of what and how long are read from the question by the same rules as the
    # fallback's, not asked of the model.
    shortest, longest, text = _take_length(question)
    times, text = _take_times(text, question)
    nth, text = _take_ordinal(text)
    superlative, top, _ = _take_superlative(text)
    try:  # validated again: a bad phrase here ("in the last 0 seconds") is the fallback parser's to explain
        return QueryPlan.model_validate({**plan.model_dump(), "nth": nth, "superlative": superlative, "top": top,
                                         "min_duration_s": shortest, "max_duration_s": longest,
                                         "last_s": times.last_s})
    except ValidationError:
        return None


# ---------------------------------------------------------------------------------------------------------
# The fallback path: video names
# ---------------------------------------------------------------------------------------------------------

_VIDEO_EXTENSIONS = r"(?:mp4|mkv|mov|avi|webm|ts)"
# An optional lead-in ("in the video ...", "from") is removed with the name so it does not end up in the subject.
_VIDEO_LEAD = r"(?:\b(?:in|on|from|of|inside|within)\s+)?(?:the\s+)?(?:(?:video|file|clip|recording|footage)\s+)?"
_QUOTED_VIDEO = rf"(?<!\w)[\"'“‘](?P<quoted>[^\"'“”‘’]+?\.{_VIDEO_EXTENSIONS})[\"'”’]"
_BARE_VIDEO = rf"(?<![\w./-])(?P<bare>[\w./-]+\.{_VIDEO_EXTENSIONS})(?![\w.])"
_VIDEO_RE = re.compile(rf"{_VIDEO_LEAD}(?:{_QUOTED_VIDEO}|{_BARE_VIDEO})", re.IGNORECASE)


def _take_video(text: str, question: str) -> tuple[str | None, str]:
    """The video named in `text` (as written) and `text` without it. A plan filters on one video only."""
    matches = list(_VIDEO_RE.finditer(text))
    if not matches:
        return None, text
    if len(matches) > 1:
        raise QueryParseError(f"query {_shown(question)} names more than one video; ask about one video or all")
    match = matches[0]
    name = match.group("quoted") or match.group("bare")
    return name, text[: match.start()] + " " + text[match.end() :]


# ---------------------------------------------------------------------------------------------------------
# The fallback path: times
# ---------------------------------------------------------------------------------------------------------

_UNIT_SECONDS = {
    "hours": 3600, "hour": 3600, "hrs": 3600, "hr": 3600, "h": 3600,
    "minutes": 60, "minute": 60, "mins": 60, "min": 60, "m": 60,
    "seconds": 1, "second": 1, "secs": 1, "sec": 1, "s": 1,
}  # fmt: skip
# Longest names first so "min" is not read as "m" followed by "in"; a letter may not follow ("2 men").
_UNIT = "(?:" + "|".join(sorted(_UNIT_SECONDS, key=len, reverse=True)) + r")(?![a-z])"
_NUMBER = r"\d+(?:\.\d+)?"
_CLOCK = r"\d+(?::\d{2}){1,2}(?:\.\d+)?"
_DURATION = rf"(?:{_NUMBER}\s*{_UNIT}\s*)+"
# How sports footage is talked about: "after minute 80" is 80 minutes in.
_MINUTE_MARK = rf"minute\s+{_NUMBER}"
# Counts people write as words in a question ("the first five minutes", "after an hour"); `parse_time`
# itself reads digits only, so these are turned into digits before it is called.
_NUMBER_VALUES = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
    "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
}  # fmt: skip
_NUMBER_WORD = r"\b(?:" + "|".join(sorted(_NUMBER_VALUES, key=len, reverse=True)) + r")\b(?!-)"
_COUNT = rf"(?:{_NUMBER}|{_NUMBER_WORD})"
_WORD_DURATION = rf"(?:{_COUNT}\s*{_UNIT}\s*)+"
_TIME = rf"(?:{_CLOCK}|{_MINUTE_MARK}|{_WORD_DURATION})"
# A range's first end may drop its unit ("between 10 and 20 seconds"); it then borrows the second's.
_RANGE_START = rf"(?:{_TIME}|{_COUNT})"
# No space is required before "mark": a duration takes the space after its unit.
_MARK = r"(?:\s*\bmark\b)?"
# "after about 2 minutes": a plan's times are bounds anyway, so the hedge is read and dropped.
_ABOUT = r"(?:(?:about|around|roughly|approximately|more\s+than|over)\s+)?"

_RANGE_RE = re.compile(
    rf"\b(?:between|from)\s+{_ABOUT}(?:the\s+)?(?P<a>{_RANGE_START})\s*(?:and|to|until|till|through|-|–)\s*"
    rf"(?:the\s+)?(?P<b>{_TIME}){_MARK}",
    re.IGNORECASE,
)
_FIRST_RE = re.compile(rf"\b(?:in|during|within)\s+the\s+first\s+(?P<n>{_COUNT})?\s*(?P<unit>{_UNIT})", re.IGNORECASE)
# Counted back from each video's own end: the plan's `last_s`.
_LAST_RE = re.compile(rf"\b(?:in|during|within)\s+the\s+(?:last|final)\s+(?P<n>{_COUNT})?\s*(?P<unit>{_UNIT})",
                      re.IGNORECASE)
_AFTER_RE = re.compile(
    rf"\b(?:after|since|past|beyond|from|starting(?:\s+(?:at|from))?)\s+{_ABOUT}(?:the\s+)?(?P<t>{_TIME}){_MARK}",
    re.IGNORECASE,
)
_BEFORE_RE = re.compile(
    rf"\b(?:before|until|till|up\s+to)\s+{_ABOUT}(?:the\s+)?(?P<t>{_TIME}){_MARK}", re.IGNORECASE
)
# One instant: moments are kept when they overlap the window, so start = end keeps those that span it.
_AT_RE = re.compile(rf"\b(?:at|around|about)\s+{_ABOUT}(?:the\s+)?(?P<t>{_TIME}){_MARK}", re.IGNORECASE)


def parse_time(text: str) -> float:
    """Seconds in '10:00' (m:ss), '1:02:03' (h:mm:ss), '90 s', '2 minutes', '1h 2m', '1.5 min', 'minute 80'.

    Raises ValueError when `text` is none of these.
    """
    text = text.strip().lower()
    if re.fullmatch(_MINUTE_MARK, text):
        return float(text.split()[-1]) * 60
    if re.fullmatch(_CLOCK, text):
        seconds = 0.0
        for part in text.split(":"):
            seconds = seconds * 60 + float(part)
        return seconds
    if re.fullmatch(_DURATION, text):
        pairs = re.findall(rf"({_NUMBER})\s*({_UNIT})", text)
        return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in pairs)
    raise ValueError(f"not a time: {text!r}")


def _digits(text: str) -> str:
    """`text` with its count words as digits: 'five minutes' -> '5 minutes', 'an hour' -> '1 hour'."""
    return re.sub(_NUMBER_WORD, lambda match: str(_NUMBER_VALUES[match.group(0).lower()]), text, flags=re.IGNORECASE)


def _phrase_seconds(text: str) -> float:
    """Seconds in a time phrase of the question, whose counts may be words."""
    return parse_time(_digits(text))


def _last_unit_seconds(time_text: str) -> float:
    """Seconds per unit of the last unit in `time_text` (1 for clock times), lent to a bare range start."""
    units = re.findall(rf"{_NUMBER}\s*({_UNIT})", time_text.lower())
    return float(_UNIT_SECONDS[units[-1]]) if units else 1.0


@dataclass
class _TimeFilter:
    start_s: float | None = None
    end_s: float | None = None
    last_s: float | None = None

    def set_start(self, seconds: float) -> None:
        # The first phrase wins: a later one is more likely part of the subject than a correction.
        if self.start_s is None:
            self.start_s = seconds

    def set_end(self, seconds: float) -> None:
        if self.end_s is None:
            self.end_s = seconds


def _range_bounds(match: re.Match[str]) -> tuple[float, float]:
    end = _phrase_seconds(match.group("b"))
    start_text = _digits(match.group("a")).strip()
    if re.fullmatch(_NUMBER, start_text):
        return float(start_text) * _last_unit_seconds(_digits(match.group("b"))), end
    return parse_time(start_text), end


def _take_times(text: str, question: str) -> tuple[_TimeFilter, str]:
    """The time filter written in `text` and `text` without its time phrases.

    Ranges go first so that 'from 30s to 45s' is not read as a bare 'from 30s'. 'In the last 5 minutes' counts
    back from each video's own end (`last_s`), which the query knows and the parser does not.
    """
    times = _TimeFilter()

    def on_range(match: re.Match[str]) -> str:
        start, end = _range_bounds(match)
        times.set_start(start)
        times.set_end(end)
        return " "

    def on_first(match: re.Match[str]) -> str:
        times.set_end(float(_digits(match.group("n") or "1")) * _UNIT_SECONDS[match.group("unit").lower()])
        return " "

    def on_last(match: re.Match[str]) -> str:
        if times.last_s is None:
            times.last_s = float(_digits(match.group("n") or "1")) * _UNIT_SECONDS[match.group("unit").lower()]
        return " "

    def on_after(match: re.Match[str]) -> str:
        times.set_start(_phrase_seconds(match.group("t")))
        return " "

    def on_before(match: re.Match[str]) -> str:
        times.set_end(_phrase_seconds(match.group("t")))
        return " "

    def on_at(match: re.Match[str]) -> str:
        seconds = _phrase_seconds(match.group("t"))
        times.set_start(seconds)
        times.set_end(seconds)
        return " "

    for pattern, handler in ((_RANGE_RE, on_range), (_FIRST_RE, on_first), (_LAST_RE, on_last), (_AFTER_RE, on_after),
                             (_BEFORE_RE, on_before), (_AT_RE, on_at)):  # fmt: skip
        text = pattern.sub(handler, text)
    return times, text


# ---------------------------------------------------------------------------------------------------------
# Which occurrence: "the first time", "the dog's second jump", "for the last time"
# ---------------------------------------------------------------------------------------------------------

ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "fifth": 5,
            "5th": 5, "last": -1, "final": -1, "most recent": -1, "latest": -1, "earliest": 1}  # fmt: skip
_ORDINAL = r"(?P<ord>" + "|".join(k.replace(" ", r"\s+") for k in ORDINALS) + r")"
_FOR_THE_TIME_RE = re.compile(rf"\bfor\s+the\s+{_ORDINAL}\s+time\b", re.IGNORECASE)
_ORDINAL_MOMENT_RE = re.compile(rf"\b{_ORDINAL}\s+(?=(?:time|moment|occurrence|instance)s?\b)", re.IGNORECASE)


def _ordinal_event_re() -> re.Pattern[str]:
    nouns = "|".join(sorted(_EVENT_NOUNS, key=len, reverse=True))
    return re.compile(rf"(?:\bthe\s+|(?P<owner>\b[\w-]+'s\s+)){_ORDINAL}\s+(?=(?:{nouns})(?:s|es)?\b)",
                      re.IGNORECASE)


def _take_ordinal(text: str) -> tuple[int | None, str]:
    """Which occurrence `text` asks for, and `text` without the ordinal. Run after the time phrases are taken ("in the
    first 5 minutes" is a window). Before an event noun the ordinal becomes "every" ("the second jump of the dog" ->
    "every jump of the dog", which the event-noun rules read), or goes ("the dog's first jump" -> "the dog's jump")."""
    nth = None

    def found(match: re.Match[str], replacement: str) -> str:
        nonlocal nth
        nth = nth or ORDINALS[" ".join(match.group("ord").lower().split())]
        return replacement

    text = _FOR_THE_TIME_RE.sub(lambda m: found(m, " "), text)
    text = _ORDINAL_MOMENT_RE.sub(lambda m: found(m, ""), text)
    text = _ORDINAL_EVENT_RE.sub(lambda m: found(m, m.group("owner") or "every "), text)
    return nth, text


# ---------------------------------------------------------------------------------------------------------
# The fallback path: closed word lists (no tagger is available here)
# ---------------------------------------------------------------------------------------------------------

_NUMBER_WORDS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "several", "many"}
_DETERMINERS = {
    "the", "a", "an", "this", "that", "these", "those", "my", "his", "her", "their", "its", "our", "your",
    "some", "any", "every", "each", "all", "no", "another", "both",
} | _NUMBER_WORDS  # fmt: skip
_COLOURS = {
    "red", "blue", "green", "yellow", "white", "black", "grey", "gray", "brown", "orange", "pink", "purple",
    "silver", "gold", "golden",
}  # fmt: skip
# Words that usually describe the noun after them.
_ADJECTIVES = _COLOURS | {
    "dark", "light", "big", "small", "large", "little", "tiny", "huge", "tall",
    "short", "long", "high", "low", "young", "old", "first", "second", "third", "last", "other", "same", "new", "left",
    "right", "front",
}  # fmt: skip
_PREPOSITIONS = {
    "in", "on", "at", "near", "by", "with", "without", "under", "over", "behind", "beside", "next", "inside",
    "outside", "from", "of", "along", "across", "through", "into", "onto", "around", "between", "wearing",
}  # fmt: skip
_RELATIVES = {"who", "that", "which", "whose", "whom"}
# Adjectives that are also the noun of a place phrase ("on the left").
_SIDE_WORDS = {"left", "right", "front"}
# A negation after the subject opens the predicate: "the dog is not moving", "when does the car never stop".
_NEGATIONS = {"not", "never"}
# Closed list of verbs that come right after a subject: copulas, auxiliaries and a few aspect verbs.
_AUXILIARIES = {
    "is", "are", "was", "were", "be", "been", "gets", "get", "got", "has", "have", "had", "can", "could",
    "will", "would", "does", "do", "did", "starts", "start", "begins", "begin", "keeps", "keep", "stops", "stop",
    "tries", "try", "stays", "stay", "remains", "remain",
}  # fmt: skip
# Past forms that no suffix gives away ("the man left the building", "the ball went out", "goals won by").
_IRREGULAR_VERBS = {
    "left", "fell", "fallen", "ran", "came", "went", "gone", "took", "taken", "threw", "thrown", "caught",
    "hit", "sat", "stood", "lay", "drove", "driven", "rode", "ridden", "broke", "broken", "ate", "eaten", "bit",
    "bitten", "fought", "won", "lost", "gave", "given", "held", "met", "saw", "seen", "stole", "stolen", "swam",
    "flew", "flown", "leapt", "dove", "made", "shot", "struck", "hid", "hidden", "began", "begun",
}  # fmt: skip
# Particles that follow a bare verb ("fall down") but rarely a noun; used only after "when does ...".
_PARTICLES = {"down", "up", "out", "off", "away", "back", "still"}
# Nouns whose endings look like verbs; without them "the boy with a ring" would split at "ring".
_NOT_VERBS = {
    "thing", "something", "anything", "nothing", "everything", "king", "ring", "string", "wing", "spring",
    "building", "ceiling", "clothing", "morning", "evening", "painting", "sibling", "wedding", "railing",
    "red", "bed", "shed", "sled", "seed", "speed", "weed", "hundred",
    "bus", "gas", "yes", "this", "his", "its", "news", "pants", "jeans", "shorts", "glasses", "sunglasses",
    "scissors", "series", "species", "lens", "canvas", "christmas",
}  # fmt: skip
# Plurals without an -s; a plural subject takes a bare verb ("the people wave", "the players shake hands").
_IRREGULAR_PLURALS = {"people", "men", "women", "children", "police", "geese", "mice", "sheep", "cattle", "feet"}
# "the cat when it climbs the fence": the pronoun stands for the subject and the clause is its predicate.
_CLAUSE_WORDS = {"when", "while", "as", "whenever", "once"}
_PRONOUNS = {"it", "he", "she", "they"}

# ---------------------------------------------------------------------------------------------------------
# The fallback path: request words around the question
# ---------------------------------------------------------------------------------------------------------

Mode = Literal["statement", "do", "be"]

_POLITE = (
    r"please|can\s+you|could\s+you|would\s+you|will\s+you|help\s+me|i\s+want\s+to|i\s+wanna|i'd\s+like\s+to|"
    r"i\s+would\s+like\s+to|i\s+need\s+to|let\s+me|let's|i'm|i\s+am"
)
_REQUEST_VERB = (
    r"find(?:\s+out)?|show|list|give|get|search(?:ing)?(?:\s+for)?|look(?:ing)?\s+for|locate|track|highlight|count|"
    r"detect|spot|display|see|watch|view|tell|pull\s+up|bring\s+up"
)
_MOMENT_NOUN = r"(?:moments?|clips?|frames?|times?|scenes?|segments?|parts?|instances?|occurrences?)"
# What holds the footage, in "which videos show a dog": the moments answered say which.
_FOOTAGE_NOUN = r"(?:videos?|files?|recordings?|footage|cameras?|cams?|feeds?|streams?)"
_CONNECTOR = r"(?:where|when|that|in\s+which|during\s+which|with|of|showing|containing|featuring)"
# Which of the moments: "every", "all the", "the first". A plan has no "first", so it finds them all.
_MOMENT_QUANTIFIER = r"(?:(?:every|all|any|each|the)\s+(?:of\s+)?(?:the\s+)?)?(?:(?:first|last|exact)\s+)?"
# Each entry: a pattern matched at the start of the text, and the question form it reveals, if any. After
# "when does" the verb is bare ("appear") and cannot be told by its ending, so the split needs to know.
_LEADING_WORDS: tuple[tuple[re.Pattern[str], Mode | None], ...] = tuple(
    (re.compile(pattern), mode)
    for pattern, mode in (
        (rf"(?:{_POLITE})\b", None),
        (rf"(?:{_REQUEST_VERB})(?:\s+(?:me|us))?\b", None),
        (rf"(?:which|what)\s+(?:{_MOMENT_NOUN}|{_FOOTAGE_NOUN})\s+(?:show|have|contain|include|feature)s?\b", None),
        # "in which video does the dog jump", "which camera is the van on": the answer's moments say which.
        (rf"(?:(?:in|on)\s+)?(?:which|what)\s+{_FOOTAGE_NOUN}\s+(?:does|do|did)\b", "do"),
        (rf"(?:(?:in|on)\s+)?(?:which|what)\s+{_FOOTAGE_NOUN}\s+(?:is|are|was|were)\b", "be"),
        (rf"{_MOMENT_QUANTIFIER}{_MOMENT_NOUN}(?:\s+{_CONNECTOR})?\b", None),
        # A shot is also a sports event ("every shot by the striker"), so it is a moment only before a clause.
        (rf"{_MOMENT_QUANTIFIER}shots?\s+{_CONNECTOR}\b", None),
        (r"(?:when|where|at\s+what\s+time|what\s+time|how\s+often|how\s+many\s+times|(?:for\s+)?how\s+long)\s+"
         r"(?:does|do|did|can|could|will|would)\b", "do"),
        (r"(?:when|where|(?:for\s+)?how\s+long)\s+(?:is|are|was|were)\b", "be"),
        # "how many jumps are there": a count of the moments, which the answer gives.
        (r"how\s+many\b", None),
        (r"(?:is|are|was|were)\s+there\b", None),
        (r"there\s+(?:is|are|was|were)\b", None),
        (r"(?:does|do|did)\b", "do"),
        (r"(?:is|are|was|were)\b", "be"),
        (r"(?:has|have|had)\b", None),
        (r"(?:when|where|whenever|wherever|while|once)\b", None),
        (r"any\b", None),
    )
)  # fmt: skip
# Words that add emphasis but name nothing: "does the dog ever jump", "when exactly does ...".
_FILLER_WORDS = {"please", "ever", "exactly", "actually", "really", "precisely"}
# "in the footage", "of the video": every search is of footage, so these name no thing to find.
_FOOTAGE_RE = re.compile(
    r"\b(?:in|on|from|of|throughout|across|within)\s+(?:(?:the|this|that|these|those|all|any|my|our)\s+)?"
    r"(?:videos?|footage|recordings?|clips?|feeds?|streams?)\b",
    re.IGNORECASE,
)


def _strip_leading_words(text: str) -> tuple[str, Mode, str | None]:
    """`text` without its request words, the question form, and the copula of a 'when is ...' question."""
    mode: Mode = "statement"
    copula = None
    stripped = True
    while stripped and text:
        stripped = False
        for pattern, found_mode in _LEADING_WORDS:
            match = pattern.match(text)
            if match is None:
                continue
            if found_mode is not None:
                mode = found_mode
                copula = match.group(0).split()[-1] if found_mode == "be" else None
            text = text[match.end() :].strip()
            stripped = True
            break
    return text, mode, copula


def _someone_for_who(words: list[str]) -> list[str]:
    """'who enters the shop' asks for someone who does; the subject to track is a person, not the word 'who'."""
    return ["someone", *words[1:]] if words[:1] == ["who"] else words


# ---------------------------------------------------------------------------------------------------------
# The fallback path: subject and predicate
# ---------------------------------------------------------------------------------------------------------


def _looks_like_verb_form(word: str) -> bool:
    """True for a closed-list verb or a word ending like a conjugated verb (-ing, -ed, -s)."""
    if word in _AUXILIARIES or word in _IRREGULAR_VERBS:
        return True
    if word in _NOT_VERBS or word in _ADJECTIVES or word in _DETERMINERS or word.endswith("'s"):
        return False
    if word.endswith("ing") and len(word) >= 5:
        return True
    if word.endswith("ed") and len(word) >= 4:
        return True
    return word.endswith("s") and len(word) >= 3 and not word.endswith(("ss", "us", "is"))


def _is_plural(word: str) -> bool:
    """Whether a head noun is plural ('players', 'people'), so the verb after it may be bare ('shake')."""
    if word in _IRREGULAR_PLURALS:
        return True
    return word.endswith("s") and not word.endswith(("ss", "us", "is", "'s")) and word not in _NOT_VERBS


def _is_verb(words: list[str], index: int, mode: Mode) -> bool:
    """Whether `words[index]` (after the subject's head noun) starts the predicate.

    After 'when does ...' the verb is bare ('appear'), so it is also recognized by position: last, or
    followed by a determiner, a particle or a preposition ('pull over', 'park in the garage').
    """
    if _looks_like_verb_form(words[index]):
        return True
    if mode == "statement":
        return False
    following = words[index + 1] if index + 1 < len(words) else None
    # "walk to the left", "stay parked": a bare verb before "to" or a participle.
    return following is None or following in _DETERMINERS | _PARTICLES | _PREPOSITIONS | {
        "or", "and", "left", "right", "to", "towards", "toward"} or (
        following.endswith("ed") and following not in _NOT_VERBS)


def _head_index(words: list[str]) -> int:
    """Index of the subject's head noun: the first word that is not a determiner or adjective."""
    for index, word in enumerate(words):
        if word not in _DETERMINERS and word not in _ADJECTIVES:
            return index
    return len(words) - 1


def _phrase_end(words: list[str], index: int) -> int:
    """Index just past the noun of the prepositional phrase whose preposition is `words[index]`.

    'in red' names a colour worn, so the colour is the phrase's noun there ('the man in red falls down');
    elsewhere determiners and adjectives lead up to the noun ('with black gloves').
    """
    preposition = words[index]
    index += 1
    while index < len(words) - 1:
        word = words[index]
        worn_colour = word in _COLOURS and words[index - 1] == preposition == "in"
        # "the ball on the left jumps", "in front of the goal": a side before a verb or a preposition is the phrase's
        # noun, not an adjective of what follows.
        following = words[index + 1]
        side_noun = word in _SIDE_WORDS and (following in _PREPOSITIONS or _looks_like_verb_form(following))
        if word not in _DETERMINERS and (word not in _ADJECTIVES or worn_colour or side_noun):
            break
        index += 1
    return index + 1


def _split_subject(words: list[str], mode: Mode) -> tuple[list[str], list[str]]:
    """Split words into subject and predicate at the first verb after the head noun.

    Prepositional phrases ('the man in red'), 'wearing ...' and relative clauses ('the player who serves')
    stay in the subject: they narrow down which thing to track. Words between the head and the verb are
    taken as a compound noun ('the pole vaulter'), except after a plural head: compounds put the plural on
    their last word, so the word after 'players' is their verb ('the players shake hands'). 'and' before
    the verb joins a second noun to the subject, which makes it plural ('the dog and the cat play').
    """
    head = _head_index(words)
    plural = _is_plural(words[head])
    index = head + 1
    while index < len(words):
        word = words[index]
        if word in _RELATIVES:
            # "every person who enters", "all cars that stop": each time one does, so the clause is the predicate;
            # "the player who serves" names which player.
            if words[0] in _EVENT_QUANTIFIERS and 1 < index < len(words) - 1 and word != "whose":
                return words[1:index], words[index + 1:]
            return words, []
        if word in _CLAUSE_WORDS and index + 2 < len(words) and words[index + 1] in _PRONOUNS:
            return words[:index], words[index + 2 :]
        if word in _NEGATIONS:
            return words[:index], words[index:]
        if word in ("and", "or"):
            head = index + 1 + _head_index(words[index + 1 :])
            plural = plural or word == "and"
            index = head + 1
        elif word in _PREPOSITIONS:
            index = _phrase_end(words, index)
        elif _is_verb(words, index, mode) or (plural and index == head + 1 and word not in _ADJECTIVES | _DETERMINERS):
            return words[:index], words[index:]
        else:
            index += 1
    return words, []


# ---------------------------------------------------------------------------------------------------------
# The fallback path: events named by a noun ("falls of the skier", "the dog's jumps")
# ---------------------------------------------------------------------------------------------------------

# Nouns people use for an event, and the predicate that asks for it. Verbs are those `agent.query.event_verbs`
# maps to a stored event where there is one ("entrance" -> "enters", not "enters through").
_EVENT_NOUNS = {
    "jump": "jumps", "hop": "hops", "leap": "leaps", "bounce": "bounces", "fall": "falls", "dive": "dives",
    "entrance": "enters", "entry": "enters", "arrival": "arrives", "exit": "exits", "departure": "departs",
    "appearance": "appears", "disappearance": "disappears", "stop": "stops", "collision": "collides",
    "crash": "crashes", "serve": "serves", "shot": "shoots", "pass": "passes", "save": "saves", "kick": "kicks",
    "throw": "throws", "catch": "catches", "tackle": "tackles", "goal": "scores a goal", "point": "wins a point",
    "foul": "commits a foul", "dunk": "dunks", "landing": "lands", "bark": "barks", "bite": "bites",
    "fight": "fights", "attack": "attacks", "crossing": "crosses", "celebration": "celebrates", "swing": "swings",
    "hit": "hits", "run": "runs",
}  # fmt: skip
_ORDINAL_EVENT_RE = _ordinal_event_re()
# Words before the event noun that say "all of them" ("every entrance of", "all of the jumps of").
_EVENT_QUANTIFIERS = {"every", "each", "all", "any"}


# ---------------------------------------------------------------------------------------------------------
# The most of something: "the highest jump of the pole vaulter", "the three longest stops", "jumps highest"
# ---------------------------------------------------------------------------------------------------------

# The words, and the plan's superlative each asks for (agent/query/moment_order.py ranks by it).
SUPERLATIVES = {"highest": "highest", "biggest": "highest", "largest": "highest", "lowest": "lowest",
                "smallest": "lowest", "longest": "longest", "shortest": "shortest", "briefest": "shortest",
                "fastest": "fastest", "quickest": "fastest", "slowest": "slowest"}  # fmt: skip
_SUP = r"(?P<sup>" + "|".join(SUPERLATIVES) + r")"
_HOW_MANY = rf"(?:(?P<n>\d+|{_NUMBER_WORD})\s+)?"
# Nouns for a stretch of time: "the longest time the dog is still", "the shortest stretch ...".
_SPAN_NOUNS = r"(?:times?|moments?|stretch(?:es)?|periods?|spells?|while|stints?)"


def _superlative_res() -> tuple[re.Pattern[str], ...]:
    nouns = "|".join(sorted(_EVENT_NOUNS, key=len, reverse=True))
    return (
        # "what is the longest ...", "which was the highest ...": the question is the superlative's.
        re.compile(rf"^\s*(?:what|which)\s+(?:is|was|are|were)\s+(?=(?:the\s+)?(?:top\s+)?{_HOW_MANY}{_SUP}\b)",
                   re.IGNORECASE),
        # Before an event noun: "the highest jump of", "the dog's 3 longest stops", "top 5 fastest runs".
        re.compile(rf"(?:\b(?:the\s+)?top\s+|\bthe\s+|(?P<owner>\b[\w-]+'s\s+))(?:top\s+)?{_HOW_MANY}{_SUP}\s+"
                   rf"(?=(?:{nouns})(?:s|es)?\b)", re.IGNORECASE),
        # Before a span of time: "the longest time the dog is still".
        re.compile(rf"(?:\bthe\s+)?{_HOW_MANY}{_SUP}\s+{_SPAN_NOUNS}\b(?:\s+(?:that|when|where))?", re.IGNORECASE),
        # Before the subject: "(what is) the longest the white box stays still".
        re.compile(rf"^\s*(?:the\s+)?{_SUP}\s+(?=(?:the|a|an)\b)", re.IGNORECASE),
        # At the end: "when does the dog jump highest", "... still for the longest (time)", "... is the highest".
        re.compile(rf"\s+(?:(?:is|was|are|were)\s+)?(?:for\s+)?(?:the\s+)?{_SUP}(?:\s+(?:time|ever|of\s+all))?"
                   r"\s*[?.!]*\s*$", re.IGNORECASE),
    )


_SUPERLATIVE_RES = _superlative_res()
# "which jump of the red ball (is the highest)": once the superlative is read, which jump is every jump.
_WHICH_EVENT_RE = re.compile(
    r"^\s*(?:which|what)\s+(?=(?:" + "|".join(sorted(_EVENT_NOUNS, key=len, reverse=True)) + r")(?:s|es)?\b)",
    re.IGNORECASE)


def _take_superlative(text: str) -> tuple[str | None, int | None, str]:
    """The superlative `text` asks for ('highest', ...), how many it keeps (None: one), and `text` without it. Run
    after the ordinal is taken. Before an event noun the superlative becomes "every" ("the highest jump of the dog"
    -> "every jump of the dog", which the event-noun rules read), or goes ("the dog's highest jump" -> "the dog's
    jump"). A superlative of a thing ("the biggest dog") is left in the subject: it names which thing."""
    found: dict[str, object] = {}

    def take(match: re.Match[str], replacement: str) -> str:
        if "sup" not in found and match.groupdict().get("sup"):
            found["sup"] = SUPERLATIVES[match.group("sup").lower()]
            n = match.groupdict().get("n")
            found["n"] = int(_digits(n)) if n else None
        return replacement

    lead, before_event, before_span, before_subject, at_end = _SUPERLATIVE_RES
    text = lead.sub("", text)
    text = before_event.sub(lambda m: take(m, m.group("owner") or " every "), text, count=1)
    if "sup" not in found:
        text = before_span.sub(lambda m: take(m, " "), text, count=1)
    if "sup" not in found:
        text = before_subject.sub(lambda m: take(m, ""), text, count=1)
    if "sup" not in found:
        text = at_end.sub(lambda m: take(m, ""), text, count=1)
    if "sup" in found:
        text = _WHICH_EVENT_RE.sub("every ", text)
    top = found.get("n")
    return found.get("sup"), (top if isinstance(top, int) and top > 1 else None), text  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------------
# How long a moment lasts: "parked for more than 10 minutes", "stops for less than 5 s"
# ---------------------------------------------------------------------------------------------------------

_LONG_WORDS = r"(?:more\s+than|longer\s+than|at\s+least|no\s+less\s+than|upwards\s+of|over)"
_SHORT_WORDS = r"(?:less\s+than|shorter\s+than|fewer\s+than|at\s+most|no\s+more\s+than|up\s+to|under)"
_LENGTH = rf"(?P<d>(?:{_COUNT}\s*{_UNIT}\s*)+)"
# "over" and "under" and "up to" are lengths only after "for": "over the fence", "under 1:00" say other things.
_LONGER_RE = re.compile(rf"\b(?:for\s+(?P<w1>{_LONG_WORDS})|(?P<w2>more\s+than|longer\s+than|at\s+least))\s+"
                        rf"{_LENGTH}", re.IGNORECASE)
_SHORTER_RE = re.compile(rf"\b(?:for\s+(?P<w1>{_SHORT_WORDS})|(?P<w2>less\s+than|shorter\s+than|at\s+most))\s+"
                         rf"{_LENGTH}", re.IGNORECASE)
_OR_MORE_RE = re.compile(rf"\bfor\s+{_LENGTH}\s*or\s+(?:more|longer)\b", re.IGNORECASE)
# After these the number is a time in the video, not a length: "after more than 10 minutes".
_TIME_LEADS = {"after", "before", "since", "until", "till", "within", "in", "at", "from", "past"}


def _take_length(text: str) -> tuple[float | None, float | None, str]:
    """The shortest and longest moment `text` asks for, in seconds (None: open), and `text` without those words.
    Run before the time window is taken ("for over 10 minutes" is no "after 10 minutes")."""
    bounds: dict[str, float] = {}

    def take(key: str, match: re.Match[str]) -> str:
        before = text[:match.start()].split()
        if before and before[-1].lower() in _TIME_LEADS:
            return match.group(0)
        bounds.setdefault(key, _phrase_seconds(match.group("d")))
        return " "

    text = _OR_MORE_RE.sub(lambda m: take("min", m), text)
    text = _LONGER_RE.sub(lambda m: take("min", m), text)
    text = _SHORTER_RE.sub(lambda m: take("max", m), text)
    return bounds.get("min"), bounds.get("max"), text


def _event_noun(word: str) -> str | None:
    """The singular event noun `word` is a form of ('entries' -> 'entry'), or None when it names no event."""
    for singular in (word, word[:-1], word[:-2], word[:-3] + "y"):
        if singular in _EVENT_NOUNS and (singular == word or word.endswith("s")):
            return singular
    return None


def _without_quantifiers(words: list[str]) -> tuple[list[str], bool]:
    """`words` without a leading 'every' or 'all of', and whether there was one."""
    quantified = False
    while words and words[0] in _EVENT_QUANTIFIERS | {"of"}:
        quantified = quantified or words[0] in _EVENT_QUANTIFIERS
        words = words[1:]
    return words, quantified


def _with_article(noun: str) -> list[str]:
    """'a goal', 'an attempt': the event noun of a passive form, as the object of its participle."""
    return ["an" if noun[0] in "aeiou" else "a", noun]


def _event_of_agent(words: list[str]) -> tuple[list[str], list[str]] | None:
    """'falls of the skier', 'every serve by the player in white', 'goals scored by the striker'.

    The noun must be plural or quantified: 'the entrance of the building' is a place, not an event.
    """
    words, quantified = _without_quantifiers(words)
    words = words[1:] if words[:1] == ["the"] else words
    noun = _event_noun(words[0]) if words else None
    if noun is None or not (quantified or noun != words[0]):
        return None
    rest = words[1:]
    if not rest:  # "find every jump", "all entrances": whoever makes them
        return [ANY_SUBJECT], _EVENT_NOUNS[noun].split()
    if len(rest) >= 2 and rest[0] in ("of", "by"):
        return rest[1:], _EVENT_NOUNS[noun].split()
    # The participle says what the agent did with the event; it is kept as written ("scored a goal").
    participle = rest[0] if rest else ""
    if len(rest) >= 3 and rest[1] == "by" and (participle.endswith("ed") or participle in _IRREGULAR_VERBS):
        return rest[2:], [participle, *_with_article(noun)]
    return None


def _possessive_event(words: list[str]) -> tuple[list[str], list[str]] | None:
    """Subject and predicate of "the dog's jumps over the fence": 'the dog', 'jumps over the fence'."""
    words, _ = _without_quantifiers(words)
    for index, word in enumerate(words[:-1]):
        if word in _PREPOSITIONS:
            return None  # past the subject's noun phrase: "the man in the dog's ..." is not the dog's event
        noun = _event_noun(words[index + 1])
        if word.endswith("'s") and noun is not None:
            subject = [*words[:index], word.removesuffix("'s")]
            return subject, [*_EVENT_NOUNS[noun].split(), *words[index + 2 :]]
    return None


def _event_noun_split(words: list[str]) -> tuple[list[str], list[str]] | None:
    """Subject and predicate of a question that names its event by a noun, or None when it does not."""
    return _possessive_event(words) or _event_of_agent(words)


# ---------------------------------------------------------------------------------------------------------
# The fallback path: questions that start with "what" or "which"
# ---------------------------------------------------------------------------------------------------------

# Words after "what" / "which" that name no kind of thing: "which objects jump", "what things move".
_ANY_THING_WORDS = {"object", "objects", "thing", "things", "one", "ones"}


def _what_question(words: list[str]) -> tuple[list[str], list[str]] | None:
    """Subject and predicate of a question led by "what" or "which", or None when it is not one.

    "what does the dog do", "what is the dog doing", "what happened to the dog": everything the dog does
    (`DESCRIBE_PREDICATE`). "what jumps", "which objects are near the box": anything that does. "which dog
    jumps": the dog that does.
    """
    if len(words) < 2 or words[0] not in ("what", "which"):
        return None
    rest = words[1:]
    if rest[0] in ("does", "do", "did", "is", "are", "was", "were") and len(rest) >= 3 and rest[-1] in ("do", "doing"):
        return rest[1:-1], DESCRIBE_PREDICATE.split()
    if rest[0] in ("happens", "happened", "happen") and len(rest) >= 3 and rest[1] == "to":
        return rest[2:], DESCRIBE_PREDICATE.split()
    if rest[0] in _ANY_THING_WORDS:
        return ([ANY_SUBJECT], rest[1:]) if len(rest) > 1 else None
    if rest[0] in ("does", "do", "did") and rest[1] in _DETERMINERS:
        # "what does the dog chase": what the dog does that to is not a plan's to say; the dog chasing is.
        subject, predicate = _split_subject(rest[1:], "do")
        return (subject, predicate) if predicate else None
    if rest[0] in _AUXILIARIES and rest[1] in _DETERMINERS:
        # "what is the red ball near": what the subject is near, which is any other object.
        subject, predicate = _state_after_copula(rest[1:])
        return (subject, [rest[0], *predicate]) if predicate else None
    if rest[0] in _AUXILIARIES or _looks_like_verb_form(rest[0]):
        return [ANY_SUBJECT], rest
    subject, predicate = _split_subject(["the", *rest], "statement")
    return (subject, predicate) if predicate else None


# ---------------------------------------------------------------------------------------------------------
# The fallback path: putting it together
# ---------------------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    """Lower-case words without surrounding punctuation or filler; apostrophes inside words ("dog's") are kept."""
    text = negations_apart(text.lower())
    text = re.sub(r"[?!,;:\"“”‘’()\[\]]", " ", text)
    words = (word.strip(".'-") for word in text.split())
    return [word for word in words if word and word not in _FILLER_WORDS]


# "how many jumps are there", "how many dogs do we have": the words after the thing counted ask nothing of it.
_COUNT_TAILS = (["are", "there"], ["is", "there"], ["were", "there"], ["was", "there"], ["do", "we", "have"],
                ["do", "you", "see"], ["can", "you", "see"], ["in", "total"], ["in", "all"])  # fmt: skip


def _trim_dangling(words: list[str]) -> list[str]:
    """Drop conjunctions left at either end once time phrases are cut ('after 1:00 and before 2:00'), and the tail
    of a count ('... are there').

    A last 'in' stays: after a verb it is a particle ('walks in' enters).
    """
    for tail in _COUNT_TAILS:
        if len(words) > len(tail) and words[-len(tail):] == tail:
            words = words[: -len(tail)]
    while words and words[-1] in {"and", "or", "but", "of", "at", "during"}:
        words = words[:-1]
    while words and words[0] in {"and", "or", "but"}:
        words = words[1:]
    return words


def _state_after_copula(words: list[str]) -> tuple[list[str], list[str]]:
    """'when is the dog near the ball': after a copula and no verb, a phrase at the end that names a state a track
    shows (agent/query/event_verbs.py: near, on the left) is the predicate, not part of the subject. Other phrases
    stay in it ('when is the man in red')."""
    head = _head_index(words)
    for index in range(head + 1, len(words)):
        if event_kind(" ".join(["is", *words[index:]])) in STATE_KINDS:
            return words[:index], words[index:]
    return words, []


def _participle_before_noun(words: list[str]) -> tuple[list[str], list[str]]:
    """'the jumping ball', 'a moving car': a participle in front of the noun that names an event or state kind is
    what the thing does, asked for ('the ball', 'jumping'). Other words there describe it ('the sleeping dog')."""
    head = _head_index(words)
    for index in range(head):
        word = words[index]
        if word.endswith("ing") and event_kind(word) is not None:
            return [*words[:index], *words[index + 1:]], [word]
    if head < len(words) - 1 and words[head].endswith("ing") and event_kind(words[head]) is not None:
        return [*words[:head], *words[head + 1:]], [words[head]]  # "the jumping ball": 'jumping' read as the head
    return words, []


def _bare_verb_after_noun(words: list[str]) -> tuple[list[str], list[str]]:
    """'red ball jump', 'person enter the shop': a search-box query with the verb bare after the noun. A word there that
    names an event or state kind (agent/query/event_verbs.py), last or followed by what follows a verb (a determiner,
    a preposition, a particle), starts the predicate; other words make a compound noun ('the pole vaulter', 'the car
    park entrance'), and a preposition ends the search ('the man in red' stays whole)."""
    head = _head_index(words)
    for index in range(head + 1, len(words)):
        word = words[index]
        if word in _PREPOSITIONS or word in _RELATIVES:
            break
        following = words[index + 1] if index + 1 < len(words) else None
        ends_clause = following is None or following in _DETERMINERS | _PREPOSITIONS | _PARTICLES | {"and", "or"}
        if ends_clause and word not in _ADJECTIVES | _DETERMINERS and event_kind(word) is not None:
            return words[:index], words[index:]
    return words, []


def fallback_plan(question: str) -> QueryPlan:
    """A plan from rules alone, for when the model's answer is unusable. Deterministic.

    Raises QueryParseError when the question is not one `checked_question` accepts, names nothing to search
    for, or its times contradict.
    """
    question = checked_question(question)
    video, text = _take_video(question, question)
    shortest, longest, text = _take_length(text)
    times, text = _take_times(text, question)
    nth, text = _take_ordinal(text)
    superlative, top, text = _take_superlative(text)
    text = _FOOTAGE_RE.sub(" ", text)
    text, mode, copula = _strip_leading_words(" ".join(_words(text)))
    words = _trim_dangling(_someone_for_who(text.split()))
    if mode == "be" and len(words) > 2 and words[-1] == "in":
        words = words[:-1]  # "which video is the dog in": where, which the moments say
    # "when doesn't the car move", "when isn't the dog moving": the negation stands before the subject.
    negated = mode != "statement" and words[:1] == ["not"]
    words = words[1:] if negated else words
    if not words:
        raise QueryParseError(f"query {_shown(question)} does not name anything to look for")
    subject, predicate = _what_question(words) or _event_noun_split(words) or _split_subject(words, mode)
    if not predicate:
        subject, predicate = _participle_before_noun(subject)
    if not predicate and copula is not None:
        subject, predicate = _state_after_copula(subject)
    if not predicate and mode == "statement":
        subject, predicate = _bare_verb_after_noun(subject)
    if len(subject) > 1 and subject[-1] in ("first", "last") and predicate:  # "when does the dog first jump"
        nth, subject = nth or ORDINALS[subject[-1]], subject[:-1]
    if negated and predicate:
        predicate = ["not", *predicate]
    if predicate and copula is not None:
        predicate = [copula, *predicate]
    try:
        return QueryPlan(
            question=question,
            subject=" ".join(subject),
            predicate=" ".join(predicate) or None,
            video=video,
            start_s=times.start_s,
            end_s=times.end_s,
            last_s=times.last_s,
            nth=nth,
            superlative=superlative,
            top=top,
            min_duration_s=shortest,
            max_duration_s=longest,
            parsed_by="fallback",
        )
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise QueryParseError(f"query {_shown(question)} cannot be searched: {reason}") from None
