"""H+ and H- are computed on the templates as the LLM reads them (docs/method.md "Guidance")."""

from __future__ import annotations

from types import SimpleNamespace

import glov.llm.steering as steering_module
from glov.llm.metaprompt import glov_messages
from glov.search.steering import SteeringVectors


def test_steering_vectors_see_the_placeholder_of_the_meta_prompt(monkeypatch):
    calls = []

    def fake(model, tokenizer, positive, negative, layer):
        calls.append((positive, negative, layer))
        return SimpleNamespace(vector=None, norm=1.0, residual_norm=1.0, ratio=1.0)

    monkeypatch.setattr(steering_module, "compute_steering_vector", fake)
    llm = SimpleNamespace(model=object(), tokenizer=object(), num_layers=8)
    vectors = SteeringVectors(llm, 0.5)
    pos, neg = "a close-up photo of a {}, a kind of flower.", "art of {}."
    first = vectors.get(pos, neg)
    assert vectors.get(pos, neg) is first  # one computation per pair
    assert calls == [
        ("a close-up photo of a <category>, a kind of flower.", "art of <category>.", 4)
    ]
    # Exactly the text the LLM reads in its meta-prompt, not the internal `{}` form.
    content = glov_messages([(pos, 0.6), (neg, 0.2)], "Flowers", "Flowers.", 5)[1]["content"]
    assert calls[0][0] in content and calls[0][1] in content
