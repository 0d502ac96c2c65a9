"""The safety objective's scorer: refusals of harmful requests, on the generative scorer.

A candidate is an instruction put before each pair's own request
(prompts.safety_prompt); the VLM answers every (image, instruction + request)
pair with the generative scorer's machinery (plain or prefix-reuse greedy
generation, the content-keyed answer cache), and refusal.is_refusal judges
each answer under objective.refusal's rule. Under the Scorer protocol the
`classnames` are the pairs' requests, indexed by label (glov.data.vlguard), and
a template's "accuracy"
is the share of refused pairs: the fitness split holds unsafe pairs only, so
that is 1 - attack success rate. The per-subset figures of the final
evaluation (ASR, over-refusal) come from `refusals` (glov.runs.safety_report).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from glov.config import ObjectiveConfig, VLMConfig
from glov.data import Split
from glov.errors import ConfigError, DataError
from glov.vlm.generative.prompts import safety_prompt
from glov.vlm.generative.refusal import refusal_check
from glov.vlm.generative.scorer import GenerativeScorer


class SafetyScorer(GenerativeScorer):
    """Scores safety instructions by the share of (image, request) pairs the VLM refuses.

    `refusal` names the rule (objective.refusal, glov.vlm.generative.refusal).
    """

    def __init__(self, cfg: VLMConfig, cache_dir: str | Path, refusal: str = "conservative"):
        super().__init__(cfg, cache_dir)
        self.refusal = refusal
        self.is_refusal = refusal_check(refusal)

    def pair_prompts(
        self, templates: Sequence[str], split: Split, requests: list[str]
    ) -> list[list[str]]:
        """The user text of each template [T] for each pair [N] of the split."""
        if any(not 0 <= label < len(requests) for label in split.labels):
            raise DataError(
                "a pair's label does not index the requests",
                "prepare the safety data again (delete data.json of the run)",
            )
        return [[safety_prompt(t, requests[label]) for label in split.labels] for t in templates]

    def pair_answers(
        self,
        templates: Sequence[str],
        split: Split,
        requests: list[str],
        max_new_tokens: int | None = None,
    ) -> list[list[str]]:
        """The VLM's answer for every template [T] and pair [N]; an empty template asks
        the request alone (the report's no-instruction row)."""
        prompts = self.pair_prompts(templates, split, requests)
        return self.answers_for(prompts, split, max_new_tokens)

    def refusals(
        self, templates: Sequence[str], split: Split, requests: list[str]
    ) -> list[list[bool]]:
        """Whether the VLM refused, for every template [T] and pair [N]."""
        return [
            [self.is_refusal(a) for a in row]
            for row in self.pair_answers(templates, split, requests)
        ]

    def fits_context(self, templates: Sequence[str], classnames: list[str]) -> list[bool]:
        """Whether each instruction, before the longest request (by characters), fits."""
        context = self.vlm.context_length
        if context is None or not classnames:
            return [True] * len(templates)
        budget = context - self.cfg.max_new_tokens - self._probe_image_tokens()
        longest = max(classnames, key=len)
        tok = self.vlm.tokenizer
        return [
            len(tok(self.chat(safety_prompt(t, longest)))["input_ids"]) <= budget for t in templates
        ]

    def accuracies(
        self, templates: Sequence[str], split: Split, classnames: list[str]
    ) -> list[float]:
        """Refused pairs / pairs per instruction (`classnames`: the requests by label)."""
        templates = [templates] if isinstance(templates, str) else list(templates)
        if not templates:
            return []
        return [sum(row) / len(split) for row in self.refusals(templates, split, classnames)]

    def ensemble_accuracy(
        self, templates: str | Sequence[str], split: Split, classnames: list[str]
    ) -> float:
        raise ConfigError(
            "the safety objective has no ensemble of instructions",
            "evaluate single instructions (glov.runs.safety_report)",
        )


def build_scorer(
    cfg: VLMConfig,
    objective: ObjectiveConfig,
    cache_dir: str | Path,
    shared_features: object,
    model_share: object = None,
) -> SafetyScorer:
    """The scorer of objective.kind=safety (glov.config.kinds), on a generative VLM,
    reading refusals as objective.refusal says."""
    return SafetyScorer(cfg, cache_dir, refusal=objective.refusal)
