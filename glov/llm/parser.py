"""Turn raw LLM answers into canonical templates (exactly one `{}`), counting rejections.

Answers are untrusted text from a small, chatty model: "Sure! Here is a new
template: "A photo of a <category>." I hope this helps." The parser takes the
first line that holds a category placeholder, cuts the chatter around the
template, maps the placeholder to `{}` and rejects anything that is not a safe
single-slot template. Rejections are counted by reason, never scored.

Optionally (search.repair_classnames), an answer with no placeholder but
exactly one class name of the dataset ("A photo of a zebra.") has that name
mapped back to the slot. Such templates are scored but counted apart as
`repaired`, so the parse rate of the LLM itself stays visible.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from glov.templates import SLOT, TemplateError, normalise, validate_template

EMPTY = "empty"
TOO_LONG = "too-long"
NO_PLACEHOLDER = "no-placeholder"
MULTIPLE_PLACEHOLDERS = "multiple-placeholders"
FORMAT_FIELD = "format-field"
DUPLICATE = "duplicate"
REASONS = (EMPTY, TOO_LONG, NO_PLACEHOLDER, MULTIPLE_PLACEHOLDERS, FORMAT_FIELD, DUPLICATE)


class Rejected(ValueError):
    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


# category | class | label, optionally followed by "name"/"label": "class name",
# "classname", "category_name", "class label", "label name".
_NAME = r"(?:category|class|label)(?:[ _-]?(?:name|label))?"
_PLACEHOLDER = re.compile(
    rf"<\s*{_NAME}\s*>"
    rf"|\[\s*{_NAME}\s*\]"
    # Braces: {}, {category}, {{category}}; never a field such as {0} or {x}.
    rf"|\{{\{{?\s*(?:{_NAME})?\s*\}}\}}?",
    re.IGNORECASE,
)
# Leading list markers: "1:", "1.", "1)", "(1)", "- ", "* ", "• ", "#".
# "1." needs a space after it so that "1.5 inch ..." keeps its number.
_NUMBERING = re.compile(r"^(?:\(?\d+\s*[:)]\s*|\d+\.\s+|[-*•#]+\s+)")
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
# An echoed score: "--- Accuracy: 61", "- accuracy 61.5%", "(Accuracy: 61)", or one
# cut off by the token limit: "... --- Accuracy:".
_ACCURACY = re.compile(
    r"\s*(?:-+|\()?\s*accuracy\s*[:=]?\s*(?:\d+(?:\.\d+)?\s*%?)?\s*\)?\s*$", re.IGNORECASE
)
# A bare score echoed after the sentence: "art of the <category>. 4".
_TRAILING_SCORE = re.compile(r"(?<=[.!?])\s+\d+(?:\.\d+)?\s*%?$")
_QUOTES = "\"'`“”‘’«»"
# Chatter before a colon that introduces the template ("Sure, here is the new template:").
_INTRO = re.compile(r"\b(?:template|prompt|here|answer|sure|output|response)\b", re.IGNORECASE)
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|`([^`]+)`|«([^»]+)»")


def _map_placeholders(line: str) -> str:
    return _PLACEHOLDER.sub(SLOT, line)


def strip_decoration(
    line: str, label: re.Pattern[str] = _LABEL, echo: re.Pattern[str] = _ACCURACY
) -> str:
    """Remove list markers, a `label`, an `echo`ed score and wrapping quotes/markdown.

    glov.llm.free_form passes its own label and echo patterns (free prompts have
    other labels, and words a template pattern would cut).
    """
    prev = None
    while prev != line:
        prev = line
        line = line.strip().strip("*_").strip()
        line = _NUMBERING.sub("", line)
        line = label.sub("", line)
        line = echo.sub("", line)
        line = _TRAILING_SCORE.sub("", line)
        line = line.strip().strip(_QUOTES).strip()
    return line


def _cut_chatter(line: str) -> str:
    """Keep the template when the line wraps it in chatter.

    A quoted part that holds the slot wins ('Here is one: "A photo of a {}." Enjoy');
    otherwise an introduction before a colon is dropped ('Sure, here is the new
    template: A photo of a {}.'), but not a colon that belongs to the template
    ('Texture: a close-up of {}').
    """
    for match in _QUOTED.finditer(line):
        inner = next(g for g in match.groups() if g is not None)
        if SLOT in inner:
            return inner
    head, sep, tail = line.partition(":")
    if sep and SLOT not in head and SLOT in tail and _INTRO.search(head):
        return tail
    return line


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


def _repair(lines: list[str], names: re.Pattern[str] | None) -> str | None:
    """The first line that names a class, with its one class name mapped to the slot.

    None when no line names a class, or when that line names two classes or one
    twice: which one is the category is then a guess, and guesses are not scored.
    """
    if names is None:
        return None
    for line in lines:
        hits = names.findall(line)
        if hits:
            return names.sub(SLOT, line) if len(hits) == 1 else None
    return None


def _parse(text: str, max_chars: int, names: re.Pattern[str] | None) -> tuple[str, bool]:
    """(template, whether it was repaired from a class name), or raise Rejected."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()] if text else []
    if not lines:
        raise Rejected(EMPTY)
    mapped = [_map_placeholders(ln) for ln in lines]
    line = next((m for m in mapped if SLOT in m), None)
    repaired = False
    if line is None:
        # No placeholder anywhere; a stray field such as {x} is the more telling reason.
        if any("{" in m or "}" in m for m in mapped):
            raise Rejected(FORMAT_FIELD, lines[0][:80])
        line = _repair(lines, names)
        if line is None:
            raise Rejected(NO_PLACEHOLDER, lines[0][:80])
        repaired = True
    template = " ".join(strip_decoration(_cut_chatter(strip_decoration(line))).split())
    if len(template) > max_chars:
        raise Rejected(TOO_LONG, f"{len(template)} > {max_chars} characters")
    if SLOT not in template:
        # The slot sat inside the decoration we removed (e.g. only a label).
        raise Rejected(NO_PLACEHOLDER, template[:80])
    if template.count(SLOT) > 1:
        raise Rejected(MULTIPLE_PLACEHOLDERS, template[:80])
    try:
        return validate_template(template), repaired
    except TemplateError as exc:
        raise Rejected(FORMAT_FIELD, str(exc)) from None


def parse_answer(text: str, max_chars: int, classnames: Sequence[str] = ()) -> str:
    """The canonical template in one answer, or raise Rejected(reason).

    With `classnames`, a single class name stands in for a missing placeholder.
    """
    return _parse(text, max_chars, classname_pattern(classnames))[0]


@dataclass
class ParseResult:
    templates: list[str] = field(default_factory=list)
    rejections: Counter[str] = field(default_factory=Counter)
    # (raw answer, reason) for each rejection, in order: for logs and artifacts.
    rejected: list[tuple[str, str]] = field(default_factory=list)
    # How many of `templates` had a class name mapped to the slot (see _repair).
    repaired: int = 0

    @property
    def clean(self) -> int:
        """Templates that kept a placeholder: the LLM's own parse successes."""
        return len(self.templates) - self.repaired


def parse_answers(
    texts: Iterable[str],
    known: Iterable[str],
    max_chars: int,
    classnames: Sequence[str] = (),
) -> ParseResult:
    """Parse a batch; duplicates of `known` templates or of earlier answers are rejected.

    `classnames` turns the class-name repair on (empty: off).
    """
    seen = {normalise(t) for t in known}
    names = classname_pattern(classnames)
    result = ParseResult()
    for text in texts:
        try:
            template, repaired = _parse(text, max_chars, names)
            key = normalise(template)
            if key in seen:
                raise Rejected(DUPLICATE, template)
        except Rejected as rej:
            result.rejections[rej.reason] += 1
            result.rejected.append((text, rej.reason))
            continue
        seen.add(key)
        result.templates.append(template)
        result.repaired += repaired
    return result
