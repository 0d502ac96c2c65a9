"""ClipScorer.fits_context: templates are capped by the text encoder's tokens, not characters."""

from __future__ import annotations

import pytest

from glov.templates import fill_all


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    from glov.config import VLMConfig
    from glov.vlm.clip import ClipScorer

    cfg = VLMConfig(model="glov-tiny-vit", pretrained=None, device="cpu")
    return ClipScorer(cfg, tmp_path_factory.mktemp("cache"))


def _tokens(scorer, text: str) -> int:
    return len(scorer.tokenizer.encode(text)) + 2  # start and end of text


def test_a_long_template_within_the_context_fits(scorer):
    # Over 200 characters (GLOV's long prompts) yet well under 77 tokens.
    template = (
        "A high-resolution close-up photograph of a {}, showing its characteristic shape, "
        "colour and texture in natural daylight, centred in the frame against a plain and "
        "uncluttered background, as seen in a field guide."
    )
    assert len(template) > 200
    assert scorer.fits_context([template], ["cat", "golden retriever"]) == [True]


def test_the_longest_filled_class_name_decides(scorer):
    context = scorer.tokenizer.context_length
    template = "a photo of a {}."
    # Pad a class name until the filled prompt is exactly the context, then one more token.
    words = ["cat"]
    while _tokens(scorer, template.replace("{}", " ".join(words))) < context:
        words.append("cat")
    exact = " ".join(words)
    assert _tokens(scorer, fill_all(template, [exact])[0]) == context
    assert scorer.fits_context([template], ["dog", exact]) == [True]
    over = exact + " cat"
    assert scorer.fits_context([template, "{}"], ["dog", over]) == [False, True]
