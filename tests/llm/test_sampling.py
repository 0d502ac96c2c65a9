import pytest
import torch

from glov.llm.metaprompt import glov_messages, render_chat
from glov.llm.sampling import _answer_lengths, sample
from glov.llm.steering import Steer, resolve_layer

HISTORY = [
    ("A photo of a {}.", 0.31),
    ("a close-up photo of a {}, a kind of animal.", 0.35),
    ("art of the {}.", 0.22),
    ("a blurry photo of the {}.", 0.28),
]
MESSAGES = glov_messages(HISTORY, "Animal-MNIST", "Small grayscale drawings of animals.", 5)
N = 3


@pytest.fixture(scope="module")
def short_cfg(smollm2_config):
    # Few new tokens keep the real-model tests fast on a shared CPU.
    return smollm2_config.model_copy(update={"max_new_tokens": 12})


@pytest.fixture(scope="module")
def seed0(smollm2, short_cfg):
    # One torch thread: tests/conftest.py sets it for the session, before this runs.
    return sample(smollm2, MESSAGES, N, short_cfg, seed=0)


def test_n_answers_from_one_batched_call(smollm2, short_cfg):
    batches = []
    hook = smollm2.model.register_forward_pre_hook(
        lambda _m, args, kwargs: batches.append(kwargs["input_ids"].shape), with_kwargs=True
    )
    try:
        result = sample(smollm2, MESSAGES, N, short_cfg, seed=3)
    finally:
        hook.remove()
    assert len(result.texts) == N and all(isinstance(t, str) for t in result.texts)
    prompt_len = len(smollm2.tokenizer(render_chat(smollm2.tokenizer, MESSAGES))["input_ids"])
    assert result.prompt_tokens == prompt_len
    # One prefill of the shared prompt, then every decoding step carries all N rows.
    assert batches[0] == (1, prompt_len - 1)
    assert len(batches) >= 2 and all(shape[0] == N for shape in batches[1:])
    assert len(batches) - 1 <= short_cfg.max_new_tokens
    assert 0 < result.new_tokens <= N * short_cfg.max_new_tokens
    assert result.seconds > 0


def test_same_seed_same_texts_and_rng_untouched(smollm2, short_cfg, seed0):
    state = torch.get_rng_state()
    again = sample(smollm2, MESSAGES, N, short_cfg, seed=0)
    assert torch.equal(torch.get_rng_state(), state), "sampling must not move the global RNG"
    assert again.texts == seed0.texts
    assert again.new_tokens == seed0.new_tokens


def test_different_seed_different_texts(smollm2, short_cfg, seed0):
    other = sample(smollm2, MESSAGES, N, short_cfg, seed=1)
    assert other.texts != seed0.texts
    assert any(t.strip() for t in other.texts)


def test_shared_prefill_matches_plain_generate(smollm2, short_cfg, seed0):
    plain = sample(smollm2, MESSAGES, N, short_cfg, seed=0, share_prefix=False)
    assert plain.texts == seed0.texts


def test_top_k_one_is_greedy_whatever_the_seed(tiny_llama, smollm2_config):
    cfg = smollm2_config.model_copy(update={"top_k": 1, "max_new_tokens": 6})
    a = sample(tiny_llama, MESSAGES, 4, cfg, seed=0)
    b = sample(tiny_llama, MESSAGES, 4, cfg, seed=123)
    assert len(set(a.texts)) == 1 and a.texts == b.texts


def test_sampling_settings_come_from_the_config(tiny_llama, smollm2_config):
    # A random tiny model spreads its probability thinly: with top-k 50 and
    # T = 1 the rows differ, so the config (not a greedy default) is in force.
    cfg = smollm2_config.model_copy(update={"max_new_tokens": 6})
    result = sample(tiny_llama, MESSAGES, 4, cfg, seed=0)
    assert len(set(result.texts)) > 1
    # The random model almost never emits eos: every row runs to the limit.
    assert result.new_tokens == 4 * 6
    assert result.truncated == [True] * 4


def test_answer_lengths_stop_at_the_first_eos():
    generated = torch.tensor([[5, 6, 2, 0, 0], [5, 6, 7, 8, 9], [2, 0, 0, 0, 0], [5, 9, 9, 3, 3]])
    # None: no eos, the row ran into max_new_tokens.
    assert _answer_lengths(generated, [2]) == [3, None, 1, None]
    assert _answer_lengths(generated, [2, 9]) == [3, 5, 1, 2]


def test_n_must_be_positive(tiny_llama, smollm2_config):
    with pytest.raises(ValueError):
        sample(tiny_llama, MESSAGES, 0, smollm2_config, seed=0)


def test_real_answers_go_through_the_parser(seed0):
    from glov.llm.parser import parse_answers

    result = parse_answers(seed0.texts, {t for t, _ in HISTORY}, 200, truncated=seed0.truncated)
    assert len(result.templates) + sum(result.rejections.values()) == N


def test_only_answers_that_ran_into_the_token_limit_are_truncated(tiny_llama, smollm2_config):
    cfg = smollm2_config.model_copy(update={"top_k": 1, "max_new_tokens": 6})
    cut = sample(tiny_llama, MESSAGES, 2, cfg, seed=0)
    assert cut.truncated == [True, True] and cut.new_tokens == 2 * 6
    # Make the third token of the (greedy) answer an eos: both answers now end there.
    prompt = tiny_llama.tokenizer(
        render_chat(tiny_llama.tokenizer, MESSAGES), return_tensors="pt", add_special_tokens=False
    )
    greedy = tiny_llama.model.generate(**prompt, do_sample=False, max_new_tokens=3)
    answer = greedy[0, prompt["input_ids"].shape[1] :].tolist()
    third = answer[-1]
    ends_at = answer.index(third) + 1  # a random model may repeat a token
    config = tiny_llama.model.generation_config
    eos = config.eos_token_id
    config.eos_token_id = [*tiny_llama.eos_token_ids, third]
    try:
        ended = sample(tiny_llama, MESSAGES, 2, cfg, seed=0)
    finally:
        config.eos_token_id = eos
    assert ended.truncated == [False, False] and ended.new_tokens == 2 * ends_at


def test_steered_sampling_is_seeded_and_counts_tokens(tiny_llama, smollm2_config):
    # The steered path goes through steered_generate and reads its .sequences;
    # the layer is resolved from a depth fraction before the Steer is built.
    cfg = smollm2_config.model_copy(update={"max_new_tokens": 5})
    hidden = tiny_llama.model.config.hidden_size
    layer = resolve_layer(0.55, tiny_llama.num_layers)
    steer = Steer(torch.ones(hidden), layer, 1.0, "exact")
    a = sample(tiny_llama, MESSAGES, 3, cfg, seed=0, steer=steer)
    b = sample(tiny_llama, MESSAGES, 3, cfg, seed=0, steer=steer)
    assert a.texts == b.texts and len(a.texts) == 3
    assert a.new_tokens == 3 * 5  # the random model never emits eos here
