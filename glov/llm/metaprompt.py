"""Meta-prompts: the chat messages that show the LLM the scored history.

Templates are stored with the canonical `{}` slot; the LLM sees the slot as a
readable placeholder (`<category>`), because a bare `{}` invites it to write
format fields, and the parser maps the placeholder back. `show` is the one
rendering of a template for the LLM: the meta-prompts and the guidance's
hidden states H+/H- (glov.search.steering) both use it, so the LLM is steered
by the very text it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from glov.templates import SLOT

Message = dict[str, str]
History = Sequence[tuple[str, float]]

# How the class slot is written wherever the LLM reads a template.
PLACEHOLDER = "<category>"
# LLM-OPT shows this many good (top) and bad (bottom) templates of its pool.
LLM_OPT_SHOWN = 3
# LLM-OPT asks for its answer on a line starting with this (and lists its pool so):
# the parsers take it as the format asked for, not as a list marker to repair.
ANSWER_BULLET = "- "

SYSTEM_PROMPT = (
    "You are a helpful assistant that finds prompt templates for zero-shot image "
    "classification with CLIP. A prompt template is a short sentence that embeds the name "
    "of a category; CLIP compares an image with the template filled with every class name "
    "and predicts the most similar one."
)


# The meta-prompt's last line: the template only, nothing else ({placeholder} is filled).
CLOSING = "Write only the new template, on one line, with {placeholder} in it, and nothing else."


def show(template: str, placeholder: str = PLACEHOLDER) -> str:
    """A stored template as the LLM sees it: the `{}` slot written as the placeholder."""
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
    placeholder: str = PLACEHOLDER,
    closing: str = CLOSING,
) -> list[Message]:
    """GLOV's meta-prompt: the best and worst k templates with their accuracies.

    `closing`: the last line, which asks for the template only (bench/bench_llm.py
    measures other wordings of it).
    """
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
    parts.append(closing.format(placeholder=placeholder))
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def llm_opt_messages(history: History, placeholder: str = PLACEHOLDER) -> list[Message]:
    """The LLM-OPT baseline's meta-prompt (Liu et al., CVPR 2024; docs/method.md, "LLM-OPT").

    One user message, no system message: a list of good templates (the top
    LLM_OPT_SHOWN of the pool, best first) and a list of bad ones (the bottom
    LLM_OPT_SHOWN of the rest, worst first), WITHOUT accuracies, dataset name
    or dataset description, asking for one better template of less than 15
    words on a line starting with "- ". Choices where the baseline's description is silent: the
    slot is written as the same placeholder GLOV's prompt uses (the parser
    reads both, so the arms differ in the method, not in the slot spelling),
    and a pool too small for both lists shows the bad list only once at least
    one template is left after the good ones.
    """
    ranked = _ascending(history)
    good = list(reversed(ranked[-LLM_OPT_SHOWN:]))
    bad = ranked[: len(ranked) - len(good)][:LLM_OPT_SHOWN]
    parts = [
        "I am looking for prompt templates for zero-shot image classification with CLIP. "
        f"A prompt template is a sentence with the placeholder {placeholder}, which is "
        "replaced by the name of each class.",
        "Here are some good templates:\n"
        + "\n".join(f"{ANSWER_BULLET}{show(t, placeholder)}" for t, _ in good),
    ]
    if bad:
        parts.append(
            "Here are some bad templates:\n"
            + "\n".join(f"{ANSWER_BULLET}{show(t, placeholder)}" for t, _ in bad)
        )
    parts.append(
        "Write one new template that is better than the good ones, in less than 15 words, "
        f"with {placeholder} in it. Answer with the template alone on one line starting "
        f'with "{ANSWER_BULLET}".'
    )
    return [{"role": "user", "content": "\n\n".join(parts)}]


def render_chat(tokenizer: Any, messages: list[Message]) -> str:
    """The prompt string, ending where the assistant's answer starts."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    # A base model without a chat template: a plain transcript that still ends
    # with the answer's turn, so completion continues as the assistant.
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join(lines) + "\n\nAssistant:"
