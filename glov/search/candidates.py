"""An arm's candidates: n answers sampled from the LLM and parsed, re-asking for slots.

Every arm's generate stage calls sample_parsed (glov.search.step). GLOV's arms
sample once; the LLM-OPT baseline (glov.search.llm_opt) asks again, up to
search.llm_opt_asks times, for answers that hold no usable class slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from glov.config import LLMConfig
from glov.llm.parser import EMPTY, FORMAT_FIELD, NO_PLACEHOLDER

if TYPE_CHECKING:
    from glov.llm.loader import LoadedLLM
    from glov.llm.metaprompt import Message
    from glov.llm.parser import ParseResult
    from glov.llm.sampling import GenerationResult
    from glov.llm.steering import Steer

# Answers that hold no usable class slot: LLM-OPT asks again for these. A
# duplicate or a too-long template did hold one and is not re-asked.
RETRY_REASONS = (EMPTY, NO_PLACEHOLDER, FORMAT_FIELD)
_MAX_ASKS = 128  # above the config's bound: keeps the seeds of the asks distinct


def ask_seed(seed: int, ask: int) -> int:
    """The sampling seed of the ask-th ask (0: the step's own seed, shared by the arms)."""
    return seed if ask == 0 else seed * _MAX_ASKS + ask


def sample_parsed(
    llm: LoadedLLM,
    messages: list[Message],
    n: int,
    cfg: LLMConfig,
    seed: int,
    known: Iterable[str],
    max_chars: int,
    classnames: Sequence[str] = (),
    asks: int = 1,
    steer: Steer | None = None,
    free_form: bool = False,
) -> tuple[GenerationResult, ParseResult]:
    """n answers sampled and parsed; answers without a slot are asked again, `asks` times at most.

    `asks=1` is one plain batched call (GLOV's arms). Every answer drawn is
    kept and every rejection counted, so the step record shows the re-asks.
    `free_form`: answers are prompts for a generative VLM, which need no slot
    (glov.llm.free_form); only empty or brace-carrying ones are then re-asked.
    """
    from glov.llm.free_form import parse_free_answers
    from glov.llm.parser import ParseResult, parse_answers
    from glov.llm.sampling import GenerationResult, sample

    known = set(known)
    total = GenerationResult(texts=[], new_tokens=0, seconds=0.0, prompt_tokens=0)
    parsed = ParseResult()
    missing = n
    for ask in range(min(asks, _MAX_ASKS)):
        result = sample(llm, messages, missing, cfg, ask_seed(seed, ask), steer)
        total.texts += result.texts
        total.new_tokens += result.new_tokens
        total.prompt_tokens += result.prompt_tokens
        total.seconds += result.seconds
        seen = known | set(parsed.templates)
        if free_form:
            part = parse_free_answers(result.texts, seen, max_chars)
        else:
            part = parse_answers(result.texts, seen, max_chars, classnames)
        parsed.templates += part.templates
        parsed.rejections.update(part.rejections)
        parsed.rejected += part.rejected
        parsed.repaired += part.repaired
        missing = sum(part.rejections[r] for r in RETRY_REASONS)
        if missing == 0:
            break
    return total, parsed
