"""What makes an answer that holds the slot still no prompt: echoed scores, unbalanced text.

A small LLM copies the meta-prompt's score lines back into its answer
("A photo of a <category> (9.31%)", "... --- Accuracy: 85", "Error: 4.15%").
The VLM's text encoder mostly ignores such junk, so it scores like the seed
and wins ties, and the run then ends with a template no one would ship.
These checks tell the parsers (glov.llm.parser, glov.llm.free_form) to
reject such an answer instead of cutting the echo off: an answer that
recites the history is not a proposal. Answers cut off mid-bracket or
mid-quote are rejected the same way.
"""

from __future__ import annotations

import re

# The separator of the meta-prompt's history lines ("i: <template> --- Accuracy: 61").
_SEPARATOR = re.compile(r"-{3,}")
# A number with a percent sign, and, for templates, any percent sign at all.
_PERCENT_NUMBER = re.compile(r"\d+(?:\.\d+)?\s*%")
# A score word with a value: "Accuracy: 85", "Error 4.15", "score=0.6", "(acc 61)".
_SCORE_VALUE = re.compile(r"\b(?:accuracy|acc|error|score|fitness)\s*(?:[:=]|\(?\d)", re.IGNORECASE)
# A bare score after the sentence: "art of the <category>. 4", "a {}, 85".
_TRAILING_NUMBER = re.compile(r"[.!?,;:)]\s*\(?\d+(?:\.\d+)?\)?\s*$")
# A score-sized number (0-100) ending a template: "the {} is 84.", "a {} 85.13".
# Templates only: a free prompt may end "... between 1 and 10". Years and other
# longer numbers ("a {} in 1990.") are not scores and pass.
_ENDING_SCORE = re.compile(r"(?<![\w.])(?:100|\d{1,2})(?:\.\d+)?\s*[.!?]?\s*$")
# A number alone in brackets: "(12.27)", "[85]". A prompt has no use for one.
_BRACKETED_NUMBER = re.compile(r"[(\[]\s*\d+(?:\.\d+)?\s*[)\]]")
# The meta-prompt's score word: a template (text shown to CLIP with a class name)
# has no use for it. Free prompts may say "name it with high accuracy".
_ACCURACY_WORD = re.compile(r"\baccuracy\b", re.IGNORECASE)

_OPENERS = {"(": ")", "[": "]", "<": ">", "“": "”", "«": "»"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}


def score_echo(text: str, template: bool) -> str | None:
    """What in `text` echoes a score or the history's format, or None.

    `template`: a slot template for a dual encoder (stricter: any `%`, any
    `accuracy`), else a free prompt for a generative VLM.
    """
    checks = [
        (_SEPARATOR, "the history's '---' separator"),
        (_SCORE_VALUE, "a score with its value"),
        (_PERCENT_NUMBER, "a percentage"),
        (_TRAILING_NUMBER, "a number after the sentence"),
        (_BRACKETED_NUMBER, "a number in brackets"),
    ]
    if template:
        checks += [
            (re.compile("%"), "a percent sign"),
            (_ACCURACY_WORD, "the word 'accuracy'"),
            (_ENDING_SCORE, "a score-sized number ending the template"),
        ]
    for pattern, what in checks:
        match = pattern.search(text)
        if match:
            return f"{what} ({match.group(0).strip()!r})"
    return None


def unbalanced(text: str) -> str | None:
    """The first bracket or quote in `text` left open or closed without opening, or None.

    Single quotes are not checked: they are apostrophes too ("a {}'s tail").
    Braces are the slot's business (glov.templates).
    """
    stack: list[str] = []
    for ch in text:
        if ch in _OPENERS:
            stack.append(ch)
        elif ch in _CLOSERS:
            if not stack or stack[-1] != _CLOSERS[ch]:
                return f"{ch!r} closes nothing"
            stack.pop()
    if stack:
        return f"{stack[-1]!r} is never closed"
    for quote in ('"', "`"):
        if text.count(quote) % 2:
            return f"an odd number of {quote!r}"
    return None
