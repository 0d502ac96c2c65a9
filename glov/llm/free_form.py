"""Parsing free-form prompts: answers for a generative VLM need no class placeholder.

For a generative VLM (vlm.kind=generative) the candidate is an instruction or
question shown to the VLM as it is (classification), or an instruction put
before every user request (the safety objective). An answer without a
placeholder is therefore a valid candidate, never a `no-placeholder`
rejection, and no class name is mapped back to a slot. The parser still cuts
the chatter of a small model ("Sure! Here is a new prompt: ..."), list
markers, labels and echoed scores, and still rejects empty, too long,
duplicate and brace-carrying answers (glov.templates.validate_prompt). A
placeholder the LLM writes anyway becomes the `{}` slot (at most one), which
the VLM reads as a generic noun (glov.vlm.generative.prompts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from glov.llm.parser import (
    _PLACEHOLDER,
    _QUOTED,
    DUPLICATE,
    EMPTY,
    FORMAT_FIELD,
    MULTIPLE_PLACEHOLDERS,
    TOO_LONG,
    ParseResult,
    Rejected,
    strip_decoration,
)
from glov.templates import SLOT, TemplateError, normalise, validate_prompt

# "New prompt:", "**Improved instruction 2:**", "Question -", "Answer:": a label, not
# the prompt. A colon or a spaced dash must follow, so "Prompting ..." stays.
_LABEL = re.compile(
    r"^\**\s*(?:(?:new|improved|better|my|final|suggested|rewritten|safety|system)\s+)?"
    r"(?:prompt|instruction|question|template|answer|output|response|sentence)s?"
    r"(?:\s*#?\d+)?\**(?:\s*:|\s+[-–])\s*\**\s*",
    re.IGNORECASE,
)
# An echoed score from the meta-prompt: "--- Accuracy: 61", "(Score: 80)". Stricter
# than the template parser's: a free prompt may well end in "... with high accuracy".
_ECHO = re.compile(
    r"\s*(?:-{2,}|\()\s*(?:accuracy|score)\s*[:=]?\s*(?:\d+(?:\.\d+)?\s*%?)?\s*\)?\s*$",
    re.IGNORECASE,
)
# Chatter that introduces the answer ("Sure, here is a new prompt:").
_INTRO = re.compile(
    r"\b(?:prompt|instruction|question|template|here|answer|sure|output|response)\b",
    re.IGNORECASE,
)
# A quoted part shorter than this is a quoted word inside the prompt, not the prompt.
_MIN_QUOTED_WORDS = 3


def _strip(line: str) -> str:
    return strip_decoration(line, _LABEL, _ECHO)


def _unwrap(line: str) -> str:
    """The prompt inside chatter: a quoted sentence wins, else the text after an intro colon."""
    for match in _QUOTED.finditer(line):
        inner = next(g for g in match.groups() if g is not None)
        if len(inner.split()) >= _MIN_QUOTED_WORDS:
            return inner
    head, sep, tail = line.partition(":")
    if sep and _INTRO.search(head) and len(head.split()) <= 8:
        return tail
    return line


def parse_free_answer(text: str, max_chars: int) -> str:
    """The free-form prompt in one answer (its first line with content), or raise Rejected."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()] if text else []
    prompt = ""
    for line in lines:
        prompt = " ".join(_strip(_unwrap(_strip(line))).split())
        if prompt:
            break  # an intro alone on its line ("Here is my prompt:") leaves nothing
    if not prompt:
        raise Rejected(EMPTY)
    prompt = _PLACEHOLDER.sub(SLOT, prompt)
    if len(prompt) > max_chars:
        raise Rejected(TOO_LONG, f"{len(prompt)} > {max_chars} characters")
    if prompt.count(SLOT) > 1:
        raise Rejected(MULTIPLE_PLACEHOLDERS, prompt[:80])
    try:
        return validate_prompt(prompt)
    except TemplateError as exc:
        raise Rejected(FORMAT_FIELD, str(exc)) from None


def parse_free_answers(texts: Iterable[str], known: Iterable[str], max_chars: int) -> ParseResult:
    """Parse a batch of free-form answers; duplicates (of `known` or earlier ones) rejected."""
    seen = {normalise(t) for t in known}
    result = ParseResult()
    for text in texts:
        try:
            prompt = parse_free_answer(text, max_chars)
            key = normalise(prompt)
            if key in seen:
                raise Rejected(DUPLICATE, prompt)
        except Rejected as rej:
            result.rejections[rej.reason] += 1
            result.rejected.append((text, rej.reason))
            continue
        seen.add(key)
        result.templates.append(prompt)
    return result
