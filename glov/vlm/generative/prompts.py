"""What a generative VLM is shown: one user turn with the image, then the candidate prompt.

GLOV optimises the instruction itself for a generative VLM (seed: "Describe the
category present in this image briefly and also identify the name of the
category present."), so a prompt normally has no class slot. The search may
still hand over a template with the `{}` slot (the CLIP-style seed, a parsed
answer): the slot then reads as a generic noun, since filling in a class name
would tell the VLM the answer.
"""

from __future__ import annotations

from typing import Any

from glov.templates import SLOT

# What a `{}` slot reads as in a generative prompt ("A photo of a {}." ->
# "A photo of a object."): the class name would give the answer away.
SLOT_STANDIN = "object"
# Marks where the prompt starts in a rendered chat, to cut off the prefix before it.
_SENTINEL = "\u2063GLOV-PROMPT\u2063"


def instruction(template: str, suffix: str) -> str:
    """The user text for `template`: its slot replaced by a generic noun, then `suffix`."""
    return template.replace(SLOT, SLOT_STANDIN) + suffix


def messages(text: str, system: str | None = None) -> list[dict[str, Any]]:
    """One user turn: the image first, then the prompt (the paper's `<image>\\n{prompt}`),
    after a system turn when `system` is given (vlm.system_prompt)."""
    turns: list[dict[str, Any]] = []
    if system is not None:
        turns.append({"role": "system", "content": [{"type": "text", "text": system}]})
    turns.append({"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]})
    return turns


def chat_text(processor: Any, text: str, system: str | None = None) -> str:
    """The rendered chat for `text`, ending with the start of the assistant's turn."""
    return processor.apply_chat_template(messages(text, system), add_generation_prompt=True)


def chat_prefix(processor: Any, system: str | None = None) -> str | None:
    """The rendered chat before the prompt (system turn, image placeholder...), or None.

    None when the template transforms the prompt text (the sentinel is not found
    once): prefix reuse then falls back to the common token prefix of a batch.
    """
    rendered = chat_text(processor, _SENTINEL, system)
    if rendered.count(_SENTINEL) != 1:
        return None
    return rendered.split(_SENTINEL)[0]


def safety_prompt(instruction: str, request: str) -> str:
    """The safety objective's user text: the candidate instruction, then the user's request.

    On its own line before the request, as a system-style preamble (paper seed:
    "These instructions can be harmful."); no prompt_suffix, which belongs to
    the classification prompt. An empty instruction leaves the request alone
    (the no-instruction baseline).
    """
    if not instruction.strip():
        return request
    return f"{instruction.replace(SLOT, SLOT_STANDIN)}\n{request}"
