"""Parsing free-form prompts: answers for a generative VLM need no class placeholder.

For a generative VLM (vlm.kind=generative) the candidate is an instruction or
question shown to the VLM as it is (classification), or an instruction put
before every user request (the safety objective). An answer without a
placeholder is therefore a valid candidate, never a `no-placeholder`
rejection, and no class name is mapped back to a slot. Otherwise answers are
counted as the template parser counts them (glov.llm.parser: clean, repaired
with what was cut, rejected by reason): the chatter of a small model
("Sure! Here is a new prompt: ..."), list markers and labels are cut as a
repair; echoed scores, open brackets or quotes and answers cut off at the
token limit are rejected, as are empty, too long, duplicate and brace-carrying
ones (glov.templates.validate_prompt). A placeholder the LLM writes anyway
becomes the `{}` slot (at most one), which the VLM reads as a generic noun
(glov.vlm.generative.prompts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from glov.llm.parser import (
    EMPTY,
    EXTRA_TEXT,
    FORMAT_FIELD,
    MULTIPLE_PLACEHOLDERS,
    PREFIX,
    TOO_LONG,
    WRAPPER,
    ParseResult,
    Rejected,
    check_candidate,
    content_lines,
    drop_bullet,
    map_placeholders,
    parse_batch,
    quoted_part,
    strip_decoration,
)
from glov.templates import SLOT, TemplateError, validate_prompt

# "New prompt:", "**Improved instruction 2:**", "Question -", "Answer:": a label, not
# the prompt. A colon or a spaced dash must follow, so "Prompting ..." stays.
_LABEL = re.compile(
    r"^\**\s*(?:(?:new|improved|better|my|final|suggested|rewritten|safety|system)\s+)?"
    r"(?:prompt|instruction|question|template|answer|output|response|sentence)s?"
    r"(?:\s*#?\d+)?\**(?:\s*:|\s+[-–])\s*\**\s*",
    re.IGNORECASE,
)
# Chatter that introduces the answer ("Sure, here is a new prompt:").
_INTRO = re.compile(
    r"\b(?:prompt|instruction|question|template|here|answer|sure|output|response)\b",
    re.IGNORECASE,
)
# A quoted part shorter than this is a quoted word inside the prompt, not the prompt.
_MIN_QUOTED_WORDS = 3


def _unwrap(line: str) -> tuple[str, set[str]]:
    """The prompt inside chatter: a quoted sentence wins, else the text after an intro colon."""
    inner = quoted_part(line, lambda text: len(text.split()) >= _MIN_QUOTED_WORDS)
    if inner is not None:
        return inner, {EXTRA_TEXT}
    head, sep, tail = line.partition(":")
    if sep and _INTRO.search(head) and len(head.split()) <= 8:
        return tail, {PREFIX}
    return line, set()


def _clean(line: str) -> tuple[str, set[str]]:
    line, kinds = strip_decoration(line, _LABEL)
    line, cut = _unwrap(line)
    line, more = strip_decoration(line, _LABEL)
    return " ".join(line.split()), kinds | cut | more


def _parse(text: str, max_chars: int, truncated: bool, bullet: str) -> tuple[str, frozenset[str]]:
    """(prompt, repair kinds; empty when clean) from an answer's first line with content."""
    lines, fenced, last_is_end = content_lines(text)
    # The first line with content: an intro alone on its line ("Here is my prompt:")
    # leaves nothing once cleaned.
    cleaned = (_clean(drop_bullet(line, bullet)) for line in lines)
    index, (prompt, kinds) = next(((i, c) for i, c in enumerate(cleaned) if c[0]), (0, ("", set())))
    if not prompt:
        raise Rejected(EMPTY)
    if fenced:
        kinds.add(WRAPPER)
    if len(lines) > 1:
        kinds.add(EXTRA_TEXT)
    prompt = map_placeholders(prompt)
    check_candidate(prompt, False, truncated and last_is_end and index == len(lines) - 1)
    if len(prompt) > max_chars:
        raise Rejected(TOO_LONG, f"{len(prompt)} > {max_chars} characters")
    if prompt.count(SLOT) > 1:
        raise Rejected(MULTIPLE_PLACEHOLDERS, prompt[:80])
    try:
        return validate_prompt(prompt), frozenset(kinds)
    except TemplateError as exc:
        raise Rejected(FORMAT_FIELD, str(exc)) from None


def parse_free_answer(text: str, max_chars: int, truncated: bool = False, bullet: str = "") -> str:
    """The free-form prompt in one answer, or raise Rejected (arguments as parse_answer's)."""
    return _parse(text, max_chars, truncated, bullet)[0]


def parse_free_answers(
    texts: Sequence[str],
    known: Iterable[str],
    max_chars: int,
    truncated: Sequence[bool] | None = None,
    bullet: str = "",
) -> ParseResult:
    """Parse a batch of free-form answers; duplicates (of `known` or earlier ones) rejected."""
    return parse_batch(
        texts, known, lambda text, cut: _parse(text, max_chars, cut, bullet), truncated
    )
