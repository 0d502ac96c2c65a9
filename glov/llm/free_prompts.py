"""Meta-prompts for free-form prompts: a generative VLM's question, or a safety instruction.

The CLIP meta-prompts (metaprompt.py) ask for a template with a category
placeholder. For a generative VLM the LLM writes the text the VLM reads as it
is: an instruction or question after the image from which the VLM must name
the image's category (objective `generative`), or an instruction put before
every user request that makes the VLM refuse harmful requests and still help
with harmless ones (objective `safety`, fitness = refused unsafe requests).
The structure is GLOV's and LLM-OPT's own (best/worst blocks with scores;
good/bad lists without), so the arms differ by method, not by wording.
Prompts are rendered with metaprompt.show, as the steering vectors see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from glov.llm.metaprompt import (
    ANSWER_BULLET,
    LLM_OPT_SHOWN,
    History,
    Message,
    _ascending,
    percent,
    select_best_worst,
    show,
)


@dataclass(frozen=True)
class Wording:
    system: str
    noun: str  # what one candidate is called
    score: str  # the label of its score in the best/worst blocks
    task: str  # what the score measures, for the GLOV instruction
    brief: str  # LLM-OPT's one-paragraph description of the task


# A generative VLM naming the category of an image (vlm.kind=generative).
GENERATIVE_PROMPTS = Wording(
    system=(
        "You are a helpful assistant that writes prompts for a vision-language model. The "
        "model sees an image and then the prompt, an instruction or a question, and answers "
        "in free text; the category of the image is read from its answer. A good prompt "
        "makes the model name the category of the image correctly."
    ),
    noun="prompt",
    score="Accuracy",
    task="the top-1 accuracy (in percent) of the categories read from the model's answers",
    brief=(
        "I am looking for prompts for a vision-language model that sees an image and must "
        "name its category. A prompt is an instruction or a question shown to the model "
        "after the image, as it is; it must not name any category."
    ),
)

# An instruction before every request (objective.kind=safety).
SAFETY_INSTRUCTIONS = Wording(
    system=(
        "You are a helpful assistant that writes safety instructions for a vision-language "
        "model. The instruction is placed before every request a user makes about an image. "
        "A good instruction makes the model refuse harmful requests, and still lets it "
        "answer harmless ones helpfully."
    ),
    noun="instruction",
    score="Score",
    task="the percentage of harmful requests that the model refused with it",
    brief=(
        "I am looking for safety instructions for a vision-language model. The instruction "
        "is put before every request a user makes about an image, so that the model refuses "
        "harmful requests and still helps with harmless ones."
    ),
)


def _block(title: str, items: Sequence[tuple[str, float]], score: str) -> str:
    lines = [f"{title}:"]
    lines += [
        f"{i}: {show(t)} --- {score}: {percent(a)}" for i, (t, a) in enumerate(items, start=1)
    ]
    return "\n".join(lines)


def free_glov_messages(
    w: Wording, history: History, dataset_name: str, description: str, k_max: int
) -> list[Message]:
    """GLOV's meta-prompt for free-form candidates: best and worst k with their scores."""
    best, worst = select_best_worst(history, k_max)
    title = w.noun.capitalize()
    parts = [
        f"Below are the best and the worst {w.noun}s from the runs so far, each with {w.task}. "
        f"Write 1 new {w.noun} that is different from all of them and is likely to reach a "
        f"higher {w.score.lower()} than the best ones.",
        f"Dataset: {dataset_name}",
        f"Description: {description.strip()}",
        _block(f"Best {title.lower()}s", best, w.score),
    ]
    if worst:
        parts.append(_block(f"Worst {title.lower()}s", worst, w.score))
    parts.append(f"Write only the new {w.noun}, on one line, and nothing else.")
    return [
        {"role": "system", "content": w.system},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def free_llm_opt_messages(w: Wording, history: History) -> list[Message]:
    """LLM-OPT's meta-prompt for free-form candidates: good and bad lists, no scores."""
    ranked = _ascending(history)
    good = list(reversed(ranked[-LLM_OPT_SHOWN:]))
    bad = ranked[: len(ranked) - len(good)][:LLM_OPT_SHOWN]
    parts = [
        w.brief,
        f"Here are some good {w.noun}s:\n"
        + "\n".join(f"{ANSWER_BULLET}{show(t)}" for t, _ in good),
    ]
    if bad:
        parts.append(
            f"Here are some bad {w.noun}s:\n"
            + "\n".join(f"{ANSWER_BULLET}{show(t)}" for t, _ in bad)
        )
    parts.append(
        f"Write one new {w.noun} that is better than the good ones, in less than 15 words. "
        f'Answer with the {w.noun} alone on one line starting with "{ANSWER_BULLET}".'
    )
    return [{"role": "user", "content": "\n\n".join(parts)}]
