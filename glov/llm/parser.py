"""Turn raw LLM answers into canonical templates (exactly one `{}`), counting what happened.

Answers are untrusted text from a small, chatty model: "Sure! Here is a new
template: "A photo of a <category>." I hope this helps." Every answer ends up
in exactly one of three kinds, counted per step (docs/metrics.md):

* clean: the answer is the template, as the meta-prompt asked (the
  placeholder spelt any known way, whitespace aside);
* repaired: a template was recovered by cutting a list marker, label or
  introduction (`PREFIX`), quotes, backticks, a code fence or markdown around
  it (`WRAPPER`), other lines or chatter around it (`EXTRA_TEXT`), or, with
  search.repair_classnames, by mapping its one class name to the slot
  (`CLASS_NAME`: "A photo of a zebra." -> "A photo of a {}.");
* rejected, by reason: no template could be recovered, or what was recovered
  is not one a person would use: it echoes the meta-prompt's scores
  ("A photo of a {} (9.31%)", "--- Accuracy: 85"; glov.llm.answer_checks),
  leaves a bracket or quote open, or was cut off at llm.max_new_tokens.
  Rejected answers are never scored.

The first line that holds a category placeholder is the candidate; its
decoration is cut, the placeholder mapped to `{}`, and the result checked.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from glov.llm.answer_checks import score_echo, unbalanced
from glov.templates import SLOT, TemplateError, normalise, validate_template

EMPTY = "empty"
TOO_LONG = "too-long"
NO_PLACEHOLDER = "no-placeholder"
MULTIPLE_PLACEHOLDERS = "multiple-placeholders"
FORMAT_FIELD = "format-field"
DUPLICATE = "duplicate"
SCORE_ECHO = "score-echo"
UNBALANCED = "unbalanced"
TRUNCATED = "truncated"
REASONS = (
    EMPTY,
    TOO_LONG,
    NO_PLACEHOLDER,
    MULTIPLE_PLACEHOLDERS,
    FORMAT_FIELD,
    DUPLICATE,
    SCORE_ECHO,
    UNBALANCED,
    TRUNCATED,
)

# What a repair cut or mapped (see the module docstring).
PREFIX = "prefix"
WRAPPER = "wrapper"
EXTRA_TEXT = "extra-text"
CLASS_NAME = "class-name"
REPAIRS = (PREFIX, WRAPPER, EXTRA_TEXT, CLASS_NAME)


class Rejected(ValueError):
    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


# category | class | label, optionally followed by "name"/"label": "class name",
# "classname", "category_name", "class label", "label name".
_NAME = r"(?:category|class|label)(?:[ _-]?(?:name|label))?"
PLACEHOLDER = re.compile(
    rf"<\s*{_NAME}\s*>"
    rf"|\[\s*{_NAME}\s*\]"
    # Braces: {}, {category}, {{category}}; never a field such as {0} or {x}.
    rf"|\{{\{{?\s*(?:{_NAME})?\s*\}}\}}?",
    re.IGNORECASE,
)
# Leading list markers: "1:", "1.", "1)", "(1)", "W3:", "- ", "* ", "• ", "#", and
# a dash glued to the first word ("-a doodle of <category>", a real Qwen2.5 answer
# to LLM-OPT's "- " list). "1." needs a space after it so that "1.5 inch ..." keeps
# its number; "*" needs one so that "**bold**" stays a wrapper.
_NUMBERING = re.compile(r"^(?:\(?[A-Za-z]{0,2}\d+\s*[:)]\s*|\d+\.\s+|[-*•#]+\s+|-(?=[^\W\d]))")
# "Template:", "New template:", "**Improved prompt template 2:**", "Answer -", and
# the block titles a small model echoes from the meta-prompt ("Best template 1:").
_LABEL = re.compile(
    r"^\**\s*(?:(?:new|improved|better|my|final|suggested|rewritten|best|worst|good|bad)\s+)?"
    r"(?:prompt\s+template|template|prompt|answer|output|response|sentence"
    r"|best|worst|good|bad)s?"
    # A colon, or a dash with a space before it ("Answer - ..."; "Bad-ass" is no label).
    r"(?:\s*#?\d+)?\**(?:\s*:|\s+[-–])\s*\**\s*",
    re.IGNORECASE,
)
# Chatter before a colon that introduces the template ("Sure, here is the new template:").
_INTRO = re.compile(r"\b(?:template|prompt|here|answer|sure|output|response)\b", re.IGNORECASE)
# A head this short before a colon is a label, not part of a template ("Texture:").
_LABEL_WORDS = 4
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|`([^`]+)`|«([^»]+)»")
# Quote pairs that may wrap a whole answer.
_WRAPS = {'"': '"', "'": "'", "`": "`", "“": "”", "‘": "’", "«": "»"}
# A code fence line: ``` or ```text.
_FENCE = re.compile(r"`{3,}[\w+-]*")


def map_placeholders(line: str) -> str:
    return PLACEHOLDER.sub(SLOT, line)


def strip_decoration(line: str, label: re.Pattern[str] = _LABEL) -> tuple[str, set[str]]:
    """Cut list markers, a `label`, wrapping quotes and markdown; (rest, repair kinds).

    glov.llm.free_form passes its own label pattern (free prompts have other labels).
    """
    kinds: set[str] = set()
    prev = None
    while prev != line:
        prev = line
        line = line.strip()
        for pattern in (_NUMBERING, label):
            cut = pattern.sub("", line)
            if cut != line:
                kinds.add(PREFIX)
                line = cut.strip()
        if line.strip("*_") != line:
            kinds.add(WRAPPER)
            line = line.strip("*_").strip()
        if len(line) > 1 and _WRAPS.get(line[0]) == line[-1]:
            kinds.add(WRAPPER)
            line = line[1:-1]
    return line.strip(), kinds


def quoted_part(line: str, wanted: Callable[[str], bool]) -> str | None:
    """The first quoted part of `line` that `wanted` accepts, or None."""
    for match in _QUOTED.finditer(line):
        inner = next(g for g in match.groups() if g is not None)
        if wanted(inner):
            return inner
    return None


def _cut_chatter(line: str) -> tuple[str, set[str]]:
    """Keep the template when the line wraps it in chatter; (rest, repair kinds).

    A quoted part that holds the slot wins ('Here is one: "A photo of a {}." Enjoy');
    otherwise a short label or an introduction before a colon is dropped
    ('W3: ...', 'Texture: ...', 'Sure, here is the new template: A photo of a {}.').
    """
    inner = quoted_part(line, lambda text: SLOT in text)
    if inner is not None:
        return inner, {EXTRA_TEXT}
    head, sep, tail = line.partition(":")
    short = len(head.split()) <= _LABEL_WORDS or _INTRO.search(head)
    if sep and SLOT not in head and SLOT in tail and short:
        return tail, {PREFIX}
    return line, set()


def classname_pattern(classnames: Sequence[str]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive alternation of the class names, longest first.

    Longest first so that "polar bear" is one match, not "bear" inside it;
    underscores also match spaces ("golden_retriever" is written "golden retriever").
    """
    names = {" ".join(n.replace("_", " ").split()) for n in classnames}
    names.discard("")
    if not names:
        return None
    alternatives = [
        r"[\s_]+".join(re.escape(w) for w in n.split())
        for n in sorted(names, key=lambda n: (-len(n), n))
    ]
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)", re.IGNORECASE)


def _repair(lines: list[str], names: re.Pattern[str] | None) -> tuple[int, str] | None:
    """(index, line) of the first line that names a class, its one name mapped to the slot.

    None when no line names a class, or when that line names two classes or one
    twice: which one is the category is then a guess, and guesses are not scored.
    """
    if names is None:
        return None
    for i, line in enumerate(lines):
        hits = names.findall(line)
        if hits:
            return (i, names.sub(SLOT, line)) if len(hits) == 1 else None
    return None


def content_lines(text: str) -> tuple[list[str], bool, bool]:
    """(non-empty lines without code fences, whether a fence was cut, whether the
    last line is the answer's last: what a cut-off answer was cut in)."""
    raw = [ln.strip() for ln in text.splitlines() if ln.strip()] if text else []
    lines = [ln for ln in raw if not _FENCE.fullmatch(ln)]
    return lines, len(lines) < len(raw), bool(raw) and not _FENCE.fullmatch(raw[-1])


def drop_bullet(line: str, bullet: str) -> str:
    """`line` without the line start the meta-prompt asked for (LLM-OPT's "- "): no repair."""
    return line[len(bullet) :] if bullet and line.startswith(bullet) else line


def _introduces(line: str) -> bool:
    return line.rstrip(" *_").endswith(":")


def check_candidate(candidate: str, template: bool, cut_off: bool) -> None:
    """Reject a recovered candidate that echoes scores, was cut off, or is unbalanced."""
    echo = score_echo(candidate, template)
    if echo:
        raise Rejected(SCORE_ECHO, echo)
    if cut_off:
        raise Rejected(TRUNCATED, f"cut off at the token limit: {candidate[-40:]!r}")
    if template and _introduces(candidate):
        # Slot templates only (a free prompt may end "Answer:"). Real SmolLM2 answer:
        # "Here's a rewritten template that focuses on the
        # importance of <category> without repeating the existing template:".
        raise Rejected(TRUNCATED, f"announces a template that never came: {candidate[-40:]!r}")
    bad = unbalanced(candidate)
    if bad:
        raise Rejected(UNBALANCED, bad)


def _parse(
    text: str, max_chars: int, names: re.Pattern[str] | None, truncated: bool, bullet: str
) -> tuple[str, frozenset[str]]:
    """(template, repair kinds; empty when clean), or raise Rejected."""
    lines, fenced, last_is_end = content_lines(text)
    if not lines:
        raise Rejected(EMPTY)
    kinds = {WRAPPER} if fenced else set()
    mapped = [map_placeholders(ln) for ln in lines]
    slotted = [i for i, m in enumerate(mapped) if SLOT in m]
    # A line ending in ":" introduces a template ("Here is a template for <category>:"),
    # so a later line with the slot is the answer; alone it is rejected below.
    index = next((i for i in slotted if not _introduces(mapped[i])), None)
    index = slotted[0] if index is None and slotted else index
    if index is None:
        # No placeholder anywhere; a stray field such as {x} is the more telling reason.
        if any("{" in m or "}" in m for m in mapped):
            raise Rejected(FORMAT_FIELD, lines[0][:80])
        found = _repair(lines, names)
        if found is None:
            raise Rejected(NO_PLACEHOLDER, lines[0][:80])
        index, line = found
        kinds.add(CLASS_NAME)
    else:
        line = mapped[index]
    if len(lines) > 1:
        kinds.add(EXTRA_TEXT)
    line = drop_bullet(line, bullet)
    prev = None
    while prev != line:  # "A: A: a photo of a {}" has two labels
        prev = line
        for cut_one in (strip_decoration, _cut_chatter):
            line, cut = cut_one(line)
            kinds |= cut
    template = " ".join(line.split())
    check_candidate(template, True, truncated and last_is_end and index == len(lines) - 1)
    if len(template) > max_chars:
        raise Rejected(TOO_LONG, f"{len(template)} > {max_chars} characters")
    if SLOT not in template:
        # The slot sat inside the decoration we removed (e.g. only a label).
        raise Rejected(NO_PLACEHOLDER, template[:80])
    if template.count(SLOT) > 1:
        raise Rejected(MULTIPLE_PLACEHOLDERS, template[:80])
    try:
        return validate_template(template), frozenset(kinds)
    except TemplateError as exc:
        raise Rejected(FORMAT_FIELD, str(exc)) from None


def parse_answer(
    text: str,
    max_chars: int,
    classnames: Sequence[str] = (),
    truncated: bool = False,
    bullet: str = "",
) -> str:
    """The canonical template in one answer, or raise Rejected(reason).

    With `classnames`, a single class name stands in for a missing placeholder.
    `truncated`: the answer hit llm.max_new_tokens. `bullet`: the line start
    the meta-prompt asked for (not counted as a repair).
    """
    return _parse(text, max_chars, classname_pattern(classnames), truncated, bullet)[0]


@dataclass
class ParseResult:
    templates: list[str] = field(default_factory=list)
    rejections: Counter[str] = field(default_factory=Counter)
    # (raw answer, reason) for each rejection, in order: for logs and artifacts.
    rejected: list[tuple[str, str]] = field(default_factory=list)
    # The repaired templates among `templates`, each with what its repair cut or mapped.
    repairs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def repaired(self) -> int:
        return len(self.repairs)

    @property
    def clean(self) -> int:
        """Templates the LLM wrote as asked: its own parse successes."""
        return len(self.templates) - self.repaired

    def extend(self, other: ParseResult) -> None:
        self.templates += other.templates
        self.rejections.update(other.rejections)
        self.rejected += other.rejected
        self.repairs |= other.repairs


# One answer (and whether it hit the token limit) -> (candidate, repair kinds).
ParseOne = Callable[[str, bool], tuple[str, frozenset[str]]]


def parse_batch(
    texts: Sequence[str],
    known: Iterable[str],
    parse_one: ParseOne,
    truncated: Sequence[bool] | None = None,
) -> ParseResult:
    """Parse a batch; duplicates of `known` candidates or of earlier answers are rejected."""
    seen = {normalise(t) for t in known}
    # No flags (None or empty): no answer is known to be cut off.
    cut = truncated if truncated else [False] * len(texts)
    result = ParseResult()
    for text, was_cut in zip(texts, cut, strict=True):
        try:
            template, kinds = parse_one(text, was_cut)
            key = normalise(template)
            if key in seen:
                raise Rejected(DUPLICATE, template)
        except Rejected as rej:
            result.rejections[rej.reason] += 1
            result.rejected.append((text, rej.reason))
            continue
        seen.add(key)
        result.templates.append(template)
        if kinds:
            result.repairs[template] = sorted(kinds)
    return result


def parse_answers(
    texts: Sequence[str],
    known: Iterable[str],
    max_chars: int,
    classnames: Sequence[str] = (),
    truncated: Sequence[bool] | None = None,
    bullet: str = "",
) -> ParseResult:
    """Parse a batch of template answers (see parse_answer and parse_batch).

    `classnames` turns the class-name repair on (empty: off); `truncated`, one
    flag per answer, says which hit the token limit.
    """
    names = classname_pattern(classnames)
    return parse_batch(
        texts,
        known,
        lambda text, cut: _parse(text, max_chars, names, cut, bullet),
        truncated,
    )
