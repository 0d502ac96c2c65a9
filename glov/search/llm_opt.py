"""What the LLM-OPT baseline does differently from GLOV, besides its meta-prompt.

LLM-OPT (Liu et al., CVPR 2024; docs/method.md, "LLM-OPT") starts from a pool
of many templates, not from one seed, and re-asks the LLM when an answer
holds no class slot (glov.search.candidates.sample_parsed, with
search.llm_opt_asks). Its meta-prompt is glov.llm.metaprompt.llm_opt_messages.

The pool enters the arm's history at step 0: step 0 scores the seed template
first (every arm reads the seed's fitness, S-TEMP, from the first entry of
its step-0 record) and then the pool. A resumed run replays that record like
any other, so nothing else needs to know about the pool.
"""

from __future__ import annotations

from glov.config import GlovConfig
from glov.templates import normalise


def initial_pool(cfg: GlovConfig) -> list[str]:
    """Step 0 of the LLM-OPT arm: the seed template, then the pool without repeats.

    Free-form prompts (a generative VLM) take a pool only as a list: a named pool
    is a set of CLIP templates, which is not a pool of questions or instructions,
    so the arm then starts from the seed alone.
    """
    from glov.vlm.baselines import ds_templates

    out, seen = [cfg.search.seed_template], {normalise(cfg.search.seed_template)}
    pool = cfg.search.llm_opt_pool
    if cfg.free_form_prompts and isinstance(pool, str):
        return out
    for template in ds_templates(pool):
        if normalise(template) not in seen:
            seen.add(normalise(template))
            out.append(template)
    return out
