"""The steering vectors of guidance pairs, for one loaded LLM.

The config's layer (an index or a depth fraction) is resolved against the
model once, here; everything below takes the index. p+ and p- change only on a
new best, so the vector of a pair is computed once and reused by later steps.

H+ and H- are the hidden states of p+ and p- as the LLM sees them in its
meta-prompt (the `<category>` placeholder, glov.llm.metaprompt.show), not of
the internal `{}` form: the offset is meant to point from the text the LLM
reads as worse towards the text it reads as better (docs/method.md "Guidance").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glov.llm.loader import LoadedLLM
    from glov.llm.steering import SteeringVector


class SteeringVectors:
    def __init__(self, llm: LoadedLLM, layer: int | float):
        from glov.llm.steering import resolve_layer

        self.llm = llm
        self.layer = resolve_layer(layer, llm.num_layers)
        self._memo: dict[tuple[str, str], SteeringVector] = {}

    def get(self, positive: str, negative: str) -> SteeringVector:
        """H+ - H- at the resolved layer for this pair (computed on first use)."""
        from glov.llm.metaprompt import show
        from glov.llm.steering import compute_steering_vector

        key = (positive, negative)
        if key not in self._memo:
            self._memo[key] = compute_steering_vector(
                self.llm.model, self.llm.tokenizer, show(positive), show(negative), self.layer
            )
        return self._memo[key]
