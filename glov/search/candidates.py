"""An arm's candidates: n answers sampled from the LLM and parsed, re-asking for slots.

Every arm's generate stage calls sample_parsed (glov.search.step). GLOV's arms
sample once; the LLM-OPT baseline (glov.search.llm_opt) asks again, up to
search.llm_opt_asks times, for answers that hold no usable template.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from glov.config import LLMConfig
from glov.llm.parser import (
    EMPTY,
    FORMAT_FIELD,
    NO_PLACEHOLDER,
    SCORE_ECHO,
    TRUNCATED,
    UNBALANCED,
)

if TYPE_CHECKING:
    from glov.llm.loader import LoadedLLM
    from glov.llm.metaprompt import Message
    from glov.llm.parser import ParseResult
    from glov.llm.sampling import GenerationResult
    from glov.llm.steering import Steer

# (answers, templates already known, which answers hit the token limit) -> parsed.
ParseBatch = Callable[[list[str], set[str], list[bool]], "ParseResult"]

# Answers that hold no usable template: LLM-OPT asks again for these (its code
# re-asks an answer without the slot; an answer that recites scores or was cut
# off is no more usable). A duplicate or a too-long template was a template,
# and is not re-asked.
RETRY_REASONS = (EMPTY, NO_PLACEHOLDER, FORMAT_FIELD, SCORE_ECHO, UNBALANCED, TRUNCATED)
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
    parse: ParseBatch,
    asks: int = 1,
    steer: Steer | None = None,
) -> tuple[GenerationResult, ParseResult]:
    """n answers sampled and parsed; unusable answers are asked again, `asks` times at most.

    `asks=1` is one plain batched call (GLOV's arms). Every answer drawn is
    kept and every rejection counted, so the step record shows the re-asks.
    `parse(texts, known, truncated)` is the arm's parser (glov.search.step).
    """
    from glov.llm.parser import ParseResult
    from glov.llm.sampling import GenerationResult, sample

    known = set(known)
    total = GenerationResult(texts=[], new_tokens=0, seconds=0.0, prompt_tokens=0)
    parsed = ParseResult()
    missing = n
    for ask in range(min(asks, _MAX_ASKS)):
        result = sample(llm, messages, missing, cfg, ask_seed(seed, ask), steer)
        total.texts += result.texts
        total.truncated += result.truncated
        total.new_tokens += result.new_tokens
        total.prompt_tokens += result.prompt_tokens
        total.seconds += result.seconds
        part = parse(result.texts, known | set(parsed.templates), result.truncated)
        parsed.extend(part)
        missing = sum(part.rejections[r] for r in RETRY_REASONS)
        if missing == 0:
            break
    return total, parsed
