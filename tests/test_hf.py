"""Hugging Face loading helpers shared by the LLM and the VLM (glov/hf.py)."""

from __future__ import annotations

import pytest
import torch

from glov.errors import ModelError
from glov.hf import hub_error, pick_device, prepare_batched_decoding


def test_pick_device_names_the_setting_it_refuses():
    assert pick_device("cpu", "llm.device") == torch.device("cpu")
    with pytest.raises(ModelError, match="llm.device 'gpu0' is not a device"):
        pick_device("gpu0", "llm.device")
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="vlm.device 'cuda' but no CUDA GPU") as err:
            pick_device("cuda", "vlm.device")
        assert err.value.fix == "use vlm.device=auto or cpu"


def test_hub_error_says_what_to_set():
    err = hub_error("VLM", "vlm.model", "org/model", OSError("offline"))
    assert "cannot load the VLM 'org/model' from the Hugging Face hub" in err.problem
    assert "offline" in err.problem and "set vlm.model to that directory" in err.fix


class _Tokenizer:
    eos_token, eos_token_id, bos_token_id = "</s>", 2, 1
    pad_token, pad_token_id, padding_side = None, None, "right"

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        if name == "pad_token":  # a tokenizer maps its pad token to the id
            object.__setattr__(self, "pad_token_id", 2)


class _Model:
    def __init__(self, eos):
        from transformers import GenerationConfig

        self.generation_config = GenerationConfig(eos_token_id=eos, do_sample=True, top_k=7)


def test_batched_decoding_keeps_every_eos_and_no_sampling_default():
    model, tok = _Model([5, 2]), _Tokenizer()
    assert prepare_batched_decoding(model, tok) == [5, 2]
    assert tok.padding_side == "left" and tok.pad_token == "</s>"
    gen = model.generation_config
    assert (gen.eos_token_id, gen.bos_token_id, gen.pad_token_id) == ([5, 2], 1, 2)
    assert not gen.do_sample and gen.top_k in (None, 50)  # the checkpoint's sampling is gone
    model = _Model(2)
    assert prepare_batched_decoding(model, _Tokenizer()) == [2]
    assert model.generation_config.eos_token_id == 2
