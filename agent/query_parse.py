"""Turning a user's question into a `QueryPlan`: first by the model, else by rules.

The model is better at odd phrasings but can answer prose, broken JSON or a subject it made up; this module
only accepts its answer when it validates and names words the user actually wrote. When it does not, the
deterministic fallback parser below is used, so `sva query` always gets a plan (or a one-line user error).
No model is called here: the caller passes the model's raw text in.

The fallback works in the order the phrases are least ambiguous: video names (they have file extensions),
then time phrases (they have numbers and units), then the request words around the question ("find every
moment ..."), and last the split of what is left into a subject and a predicate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from agent.query_plan import QueryPlan
from sa2va_engine.user_error import UserError


class QueryParseError(UserError):
    """The question names nothing that can be searched for, or contradicts itself."""


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
    question_words = _word_stems(question)
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
    return plan if _grounded_in_question(plan, question) else None


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
        raise QueryParseError(f"query {question!r} names more than one video; ask about one video or all")
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
_TIME = rf"(?:{_CLOCK}|{_DURATION})"
# A range's first end may drop its unit ("between 10 and 20 seconds"); it then borrows the second's.
_RANGE_START = rf"(?:{_TIME}|{_NUMBER})"
_MARK = r"(?:\s+mark)?"

_RANGE_RE = re.compile(
    rf"\b(?:between|from)\s+(?:the\s+)?(?P<a>{_RANGE_START})\s*(?:and|to|until|till|through|-|–)\s*"
    rf"(?:the\s+)?(?P<b>{_TIME}){_MARK}",
    re.IGNORECASE,
)
_FIRST_RE = re.compile(rf"\b(?:in|during|within)\s+the\s+first\s+(?P<n>{_NUMBER})?\s*(?P<unit>{_UNIT})", re.IGNORECASE)
_AFTER_RE = re.compile(
    rf"\b(?:after|since|past|beyond|from|starting(?:\s+(?:at|from))?)\s+(?:the\s+)?(?P<t>{_TIME}){_MARK}",
    re.IGNORECASE,
)
_BEFORE_RE = re.compile(rf"\b(?:before|until|till|up\s+to)\s+(?:the\s+)?(?P<t>{_TIME}){_MARK}", re.IGNORECASE)


def parse_time(text: str) -> float:
    """Seconds in '10:00' (m:ss), '1:02:03' (h:mm:ss), '90 s', '2 minutes', '1h 2m', '1.5 min'.

    Raises ValueError when `text` is none of these.
    """
    text = text.strip().lower()
    if re.fullmatch(_CLOCK, text):
        seconds = 0.0
        for part in text.split(":"):
            seconds = seconds * 60 + float(part)
        return seconds
    if re.fullmatch(_DURATION, text):
        pairs = re.findall(rf"({_NUMBER})\s*({_UNIT})", text)
        return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in pairs)
    raise ValueError(f"not a time: {text!r}")


def _last_unit_seconds(time_text: str) -> float:
    """Seconds per unit of the last unit in `time_text` (1 for clock times), lent to a bare range start."""
    units = re.findall(rf"{_NUMBER}\s*({_UNIT})", time_text.lower())
    return float(_UNIT_SECONDS[units[-1]]) if units else 1.0


@dataclass
class _TimeFilter:
    start_s: float | None = None
    end_s: float | None = None

    def set_start(self, seconds: float) -> None:
        # The first phrase wins: a later one is more likely part of the subject than a correction.
        if self.start_s is None:
            self.start_s = seconds

    def set_end(self, seconds: float) -> None:
        if self.end_s is None:
            self.end_s = seconds


def _range_bounds(match: re.Match[str]) -> tuple[float, float]:
    end = parse_time(match.group("b"))
    start_text = match.group("a")
    if re.fullmatch(_NUMBER, start_text.strip()):
        return float(start_text) * _last_unit_seconds(match.group("b")), end
    return parse_time(start_text), end


def _take_times(text: str) -> tuple[_TimeFilter, str]:
    """The time filter written in `text` and `text` without its time phrases.

    Ranges go first so that 'from 30s to 45s' is not read as a bare 'from 30s'.
    """
    times = _TimeFilter()

    def on_range(match: re.Match[str]) -> str:
        start, end = _range_bounds(match)
        times.set_start(start)
        times.set_end(end)
        return " "

    def on_first(match: re.Match[str]) -> str:
        times.set_end(float(match.group("n") or 1) * _UNIT_SECONDS[match.group("unit").lower()])
        return " "

    def on_after(match: re.Match[str]) -> str:
        times.set_start(parse_time(match.group("t")))
        return " "

    def on_before(match: re.Match[str]) -> str:
        times.set_end(parse_time(match.group("t")))
        return " "

    for pattern, handler in ((_RANGE_RE, on_range), (_FIRST_RE, on_first), (_AFTER_RE, on_after),
                             (_BEFORE_RE, on_before)):  # fmt: skip
        text = pattern.sub(handler, text)
    return times, text


# ---------------------------------------------------------------------------------------------------------
# The fallback path: request words around the question
# ---------------------------------------------------------------------------------------------------------

Mode = Literal["statement", "do", "be"]

_REQUEST_VERB = r"find|show|list|give|get|search(?:\s+for)?|look\s+for|locate|track|highlight|detect|spot|display"
_MOMENT_NOUN = r"(?:moments?|clips?|frames?|times?|scenes?|segments?|parts?|shots?|instances?|occurrences?)"
_CONNECTOR = r"(?:where|when|that|in\s+which|during\s+which|with|of|showing|containing|featuring)"
# Each entry: a pattern matched at the start of the text, and the question form it reveals, if any. After
# "when does" the verb is bare ("appear") and cannot be told by its ending, so the split needs to know.
_LEADING_WORDS: tuple[tuple[re.Pattern[str], Mode | None], ...] = tuple(
    (re.compile(pattern), mode)
    for pattern, mode in (
        (r"(?:please|can\s+you|could\s+you|would\s+you|help\s+me|i\s+want\s+to|i'd\s+like\s+to)\b", None),
        (rf"(?:{_REQUEST_VERB})(?:\s+(?:me|us))?\b", None),
        (rf"(?:(?:every|all|any|each)\s+(?:of\s+)?(?:the\s+)?)?{_MOMENT_NOUN}(?:\s+{_CONNECTOR})?\b", None),
        (r"(?:when|where|at\s+what\s+time|what\s+time|how\s+often)\s+(?:does|do|did)\b", "do"),
        (r"(?:when|where)\s+(?:is|are|was|were)\b", "be"),
        (r"(?:is|are|was|were)\s+there\b", None),
        (r"there\s+(?:is|are|was|were)\b", None),
        (r"(?:does|do|did)\b", "do"),
        (r"(?:is|are|was|were)\b", "be"),
        (r"(?:when|where|whenever|wherever)\b", None),
        (r"any\b", None),
    )
)  # fmt: skip


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


# ---------------------------------------------------------------------------------------------------------
# The fallback path: subject and predicate
# ---------------------------------------------------------------------------------------------------------

_NUMBER_WORDS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "several", "many"}
_DETERMINERS = {
    "the", "a", "an", "this", "that", "these", "those", "my", "his", "her", "their", "its", "our", "your",
    "some", "any", "every", "each", "all", "no", "another",
} | _NUMBER_WORDS  # fmt: skip
_COLOURS = {
    "red", "blue", "green", "yellow", "white", "black", "grey", "gray", "brown", "orange", "pink", "purple",
    "silver", "gold", "golden",
}  # fmt: skip
# Words that usually describe the noun after them; a closed list because no tagger is available here.
_ADJECTIVES = _COLOURS | {
    "dark", "light", "big", "small", "large", "little", "tiny", "huge", "tall",
    "short", "long", "young", "old", "first", "second", "third", "last", "other", "same", "new", "left",
    "right", "front",
}  # fmt: skip
_PREPOSITIONS = {
    "in", "on", "at", "near", "by", "with", "without", "under", "over", "behind", "beside", "next", "inside",
    "outside", "from", "of", "along", "across", "through", "into", "onto", "around", "between", "wearing",
}  # fmt: skip
_RELATIVES = {"who", "that", "which", "whose", "whom"}
# Closed list of verbs that come right after a subject: copulas, auxiliaries and a few aspect verbs.
_AUXILIARIES = {
    "is", "are", "was", "were", "be", "been", "gets", "get", "got", "has", "have", "had", "can", "could",
    "will", "would", "does", "do", "did", "starts", "start", "begins", "begin", "keeps", "keep", "stops", "stop",
    "tries", "try",
}  # fmt: skip
# Particles that follow a bare verb ("fall down") but rarely a noun; used only after "when does ...".
_PARTICLES = {"down", "up", "out", "off", "away", "back"}
# Nouns whose endings look like verbs; without them "the boy with a ring" would split at "ring".
_NOT_VERBS = {
    "thing", "something", "anything", "nothing", "everything", "king", "ring", "string", "wing", "spring",
    "building", "ceiling", "clothing", "morning", "evening", "painting", "sibling", "wedding", "railing",
    "red", "bed", "shed", "sled", "seed", "speed", "weed", "hundred",
    "bus", "gas", "yes", "this", "his", "its", "news", "pants", "jeans", "shorts", "glasses", "sunglasses",
    "scissors", "series", "species", "lens", "canvas", "christmas",
}  # fmt: skip


def _looks_like_verb_form(word: str) -> bool:
    """True for a closed-list verb or a word ending like a conjugated verb (-ing, -ed, -s)."""
    if word in _AUXILIARIES:
        return True
    if word in _NOT_VERBS or word in _ADJECTIVES or word in _DETERMINERS or word.endswith("'s"):
        return False
    if word.endswith("ing") and len(word) >= 5:
        return True
    if word.endswith("ed") and len(word) >= 4:
        return True
    return word.endswith("s") and len(word) >= 3 and not word.endswith(("ss", "us", "is"))


def _is_verb(words: list[str], index: int, mode: Mode) -> bool:
    """Whether `words[index]` (after the subject's head noun) starts the predicate.

    After 'when does ...' the verb is bare ('appear'), so it is also recognized by position: last, or
    followed by a determiner or a particle.
    """
    if _looks_like_verb_form(words[index]):
        return True
    if mode == "statement":
        return False
    following = words[index + 1] if index + 1 < len(words) else None
    return following is None or following in _DETERMINERS or following in _PARTICLES


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
        if word not in _DETERMINERS and (word not in _ADJECTIVES or worn_colour):
            break
        index += 1
    return index + 1


def _split_subject(words: list[str], mode: Mode) -> tuple[list[str], list[str]]:
    """Split words into subject and predicate at the first verb after the head noun.

    Prepositional phrases ('the man in red'), 'wearing ...' and relative clauses ('the player who serves')
    stay in the subject: they narrow down which thing to track. Words between the head and the verb are
    taken as a compound noun ('the pole vaulter').
    """
    index = _head_index(words) + 1
    while index < len(words):
        word = words[index]
        if word in _RELATIVES:
            return words, []
        if word in _PREPOSITIONS:
            index = _phrase_end(words, index)
        elif _is_verb(words, index, mode):
            return words[:index], words[index:]
        else:
            index += 1
    return words, []


# ---------------------------------------------------------------------------------------------------------
# The fallback path: putting it together
# ---------------------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    """Lower-case words without surrounding punctuation; apostrophes inside words ("dog's") are kept."""
    text = re.sub(r"[?!,;:\"“”‘’()\[\]]", " ", text.lower())
    words = (word.strip(".'-") for word in text.split())
    return [word for word in words if word]


def _trim_dangling(words: list[str]) -> list[str]:
    """Drop conjunctions left at either end once time phrases are cut ('after 1:00 and before 2:00')."""
    while words and words[-1] in {"and", "or", "but", "in", "of", "at", "during"}:
        words = words[:-1]
    while words and words[0] in {"and", "or", "but"}:
        words = words[1:]
    return words


def fallback_plan(question: str) -> QueryPlan:
    """A plan from rules alone, for when the model's answer is unusable. Deterministic.

    Raises QueryParseError when the question names nothing to search for or its times contradict.
    """
    video, text = _take_video(question, question)
    times, text = _take_times(text)
    text, mode, copula = _strip_leading_words(" ".join(_words(text)))
    words = _trim_dangling(text.split())
    if not words:
        raise QueryParseError(f"query {question!r} does not name anything to look for")
    subject, predicate = _split_subject(words, mode)
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
            parsed_by="fallback",
        )
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise QueryParseError(f"query {question!r} cannot be searched: {reason}") from None
