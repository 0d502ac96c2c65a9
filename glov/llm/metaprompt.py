"""Meta-prompts: the chat messages that show the LLM the scored history.

Templates are stored with the canonical `{}` slot; the LLM sees the slot as a
readable placeholder (`<category>`), because a bare `{}` invites it to write
format fields, and the parser maps the placeholder back.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from glov.templates import SLOT

Message = dict[str, str]
History = Sequence[tuple[str, float]]

SYSTEM_PROMPT = (
    "You are a helpful assistant that finds prompt templates for zero-shot image "
    "classification with CLIP. A prompt template is a short sentence that embeds the name "
    "of a category; CLIP compares an image with the template filled with every class name "
    "and predicts the most similar one."
)


def show(template: str, placeholder: str) -> str:
    return template.replace(SLOT, placeholder)


def percent(accuracy: float) -> int:
    return int(round(100 * accuracy))


def in_context_k(history_len: int, k_max: int) -> int:
    """k = min(k_max, floor(0.5 * len(history))): best and worst k never overlap."""
    return min(k_max, history_len // 2)


def _ascending(history: History) -> list[tuple[str, float]]:
    if not history:
        raise ValueError("the meta-prompt needs at least one scored template (the seed)")
    # Stable sort: ties keep their history order, so prompts are reproducible.
    return sorted(history, key=lambda item: item[1])


def _block(title: str, items: Sequence[tuple[str, float]], placeholder: str) -> str:
    lines = [f"{title}:"]
    lines += [
        f"{i}: {show(t, placeholder)} --- Accuracy: {percent(a)}"
        for i, (t, a) in enumerate(items, start=1)
    ]
    return "\n".join(lines)


def select_best_worst(
    history: History, k_max: int
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(best, worst), each in ascending order of accuracy; worst is empty when k = 0."""
    ranked = _ascending(history)
    k = in_context_k(len(ranked), k_max)
    if k == 0:
        return ranked[-1:], []
    return ranked[-k:], ranked[:k]


def glov_messages(
    history: History,
    dataset_name: str,
    description: str,
    k_max: int,
    placeholder: str = "<category>",
) -> list[Message]:
    """GLOV's meta-prompt: the best and worst k templates with their accuracies."""
    best, worst = select_best_worst(history, k_max)
    parts = [
        "Below are the best and the worst prompt templates from the runs so far, each with "
        "the top-1 accuracy (in percent) that CLIP reached with it on this dataset. Write 1 "
        "new prompt template that is different from all of them and is likely to reach a "
        f"higher accuracy than the best ones. The template must contain the category "
        f"placeholder {placeholder} exactly once; it is replaced by each class name.",
        f"Dataset: {dataset_name}",
        f"Description: {description.strip()}",
        _block("Best templates", best, placeholder),
    ]
    if worst:
        parts.append(_block("Worst templates", worst, placeholder))
    parts.append(
        f"Write only the new template, on one line, with {placeholder} in it, and nothing else."
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def llm_opt_messages(
    history: History,
    dataset_name: str,
    description: str,
    n_random: int,
    rng: random.Random,
    placeholder: str = "<category>",
) -> list[Message]:
    """The LLM-OPT baseline (Liu et al., CVPR 2024): good, bad and random examples.

    Good = the top 3, bad = the bottom 3 of the rest, plus `n_random` drawn with
    `rng` from what lies between, all shown with their accuracies.
    """
    ranked = _ascending(history)
    good = ranked[-3:]
    rest = ranked[: len(ranked) - len(good)]
    bad = rest[:3]
    middle = rest[len(bad) :]
    picked = rng.sample(range(len(middle)), min(n_random, len(middle)))
    others = [middle[i] for i in sorted(picked)]
    parts = [
        "Here are prompt templates for CLIP with the top-1 accuracy (in percent) that each "
        "reached on this dataset. Learn from the good ones and avoid what makes the bad ones "
        "bad, then write 1 new prompt template that is better than all of them. The template "
        f"must contain the category placeholder {placeholder} exactly once.",
        f"Dataset: {dataset_name}",
        f"Description: {description.strip()}",
        _block("Good templates", good, placeholder),
    ]
    if bad:
        parts.append(_block("Bad templates", bad, placeholder))
    if others:
        parts.append(_block("Other templates", others, placeholder))
    parts.append(
        f"Write only the new template, on one line, with {placeholder} in it, and nothing else."
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def render_chat(tokenizer: Any, messages: list[Message]) -> str:
    """The prompt string, ending where the assistant's answer starts."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    # A base model without a chat template: a plain transcript that still ends
    # with the answer's turn, so completion continues as the assistant.
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join(lines) + "\n\nAssistant:"
