import random
import re

import pytest

from glov.llm.metaprompt import glov_messages, in_context_k, llm_opt_messages, render_chat

LINE = re.compile(r"^(\d+): (.*) --- Accuracy: (\d+)$")
DATASET = "Animal-MNIST"
DESCRIPTION = "Small grayscale drawings of animals such as cats, dogs and horses."


def make_history(n: int, seed: int = 0) -> list[tuple[str, float]]:
    """n distinct templates with distinct accuracies, shuffled."""
    rng = random.Random(seed)
    accs = rng.sample(range(0, 1000), n)
    history = [(f"template number {i} of a {{}}.", a / 1000) for i, a in enumerate(accs)]
    rng.shuffle(history)
    return history


def blocks(content: str) -> dict[str, list[tuple[int, str, int]]]:
    """The numbered lines of each titled block: title -> [(index, template, accuracy)]."""
    out: dict[str, list[tuple[int, str, int]]] = {}
    current = None
    for line in content.splitlines():
        if line.endswith("templates:"):
            current = line[:-1]
            out[current] = []
        elif current and (m := LINE.match(line)):
            out[current].append((int(m[1]), m[2], int(m[3])))
        elif line.strip():
            current = None
    return out


def shown(template: str, placeholder: str = "<category>") -> str:
    return template.replace("{}", placeholder)


@pytest.mark.parametrize(
    "size, k_max, k",
    [(1, 5, 0), (2, 5, 1), (5, 5, 2), (10, 5, 5), (20, 5, 5)]
    + [(1, 3, 0), (2, 3, 1), (5, 3, 2), (10, 3, 3), (20, 3, 3)],
)
def test_glov_best_and_worst_k(size, k_max, k):
    assert in_context_k(size, k_max) == k
    history = make_history(size)
    messages = glov_messages(history, DATASET, DESCRIPTION, k_max)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "CLIP" in messages[0]["content"]
    content = messages[1]["content"]
    found = blocks(content)
    ranked = sorted(history, key=lambda h: h[1])
    if k == 0:
        # Only the seed is scored: it is the single best, and there is no worst block.
        assert list(found) == ["Best templates"]
        assert [t for _, t, _ in found["Best templates"]] == [shown(ranked[-1][0])]
        return
    assert list(found) == ["Best templates", "Worst templates"]
    best, worst = found["Best templates"], found["Worst templates"]
    assert len(best) == len(worst) == k
    for block in (best, worst):
        assert [i for i, _, _ in block] == list(range(1, k + 1))
        accs = [a for _, _, a in block]
        assert accs == sorted(accs), "each block is in ascending order of accuracy"
    assert [t for _, t, _ in best] == [shown(t) for t, _ in ranked[-k:]]
    assert [t for _, t, _ in worst] == [shown(t) for t, _ in ranked[:k]]
    assert {t for _, t, _ in best}.isdisjoint({t for _, t, _ in worst})
    # Integer percentages of the real accuracies.
    assert [a for _, _, a in best] == [round(100 * a) for _, a in ranked[-k:]]


def test_glov_message_content():
    history = [("A photo of a {}.", 0.3125), ("a drawing of a {}.", 0.5), ("art of {}.", 0.1)]
    content = glov_messages(history, DATASET, DESCRIPTION, 5)[1]["content"]
    assert DATASET in content and DESCRIPTION in content
    assert "{}" not in content and "<category>" in content
    assert "1: a drawing of a <category>. --- Accuracy: 50" in content
    assert "1: art of <category>. --- Accuracy: 10" in content
    # Instruction first, the request for the template only last.
    assert content.index("1 new") < content.index("Best templates:")
    assert content.index("Best templates:") < content.index("Worst templates:")
    last = content.splitlines()[-1]
    assert "only" in last and "nothing else" in last


def test_glov_order_of_history_does_not_matter():
    history = make_history(9)
    a = glov_messages(history, DATASET, DESCRIPTION, 5)
    b = glov_messages(list(reversed(history)), DATASET, DESCRIPTION, 5)
    assert a == b


def test_custom_placeholder():
    content = glov_messages(make_history(4), DATASET, DESCRIPTION, 5, placeholder="[CLASS]")[1][
        "content"
    ]
    assert "<category>" not in content and "{}" not in content
    assert content.count("[CLASS]") == 4 + 2  # 4 templates + instruction + closing line


def test_empty_history_is_an_error():
    with pytest.raises(ValueError):
        glov_messages([], DATASET, DESCRIPTION, 5)


def _dash_lists(content: str) -> dict[str, list[str]]:
    """The "- " lines under each "Here are some ... templates:" heading."""
    out: dict[str, list[str]] = {}
    current = None
    for line in content.splitlines():
        if line.startswith("Here are some"):
            current = line.split()[3]
            out[current] = []
        elif current and line.startswith("- "):
            out[current].append(line[2:])
        else:
            current = None
    return out


@pytest.mark.parametrize("size", [1, 3, 4, 6, 7, 30])
def test_llm_opt_good_and_bad_lists_without_scores(size):
    history = make_history(size)
    messages = llm_opt_messages(history)
    assert [m["role"] for m in messages] == ["user"]
    content = messages[0]["content"]
    ranked = [shown(t) for t, _ in sorted(history, key=lambda h: h[1])]
    found = _dash_lists(content)
    assert found["good"] == list(reversed(ranked[-3:]))
    assert found.get("bad", []) == ranked[: min(3, max(0, size - 3))]
    every = found["good"] + found.get("bad", [])
    assert len(every) == len(set(every)), "no template is shown twice"
    # No accuracies, no dataset blurb; LLM-OPT's length limit and answer format.
    assert "Accuracy" not in content and "%" not in content
    assert not re.search(r"\d+\s*$", content.splitlines()[-1])
    assert "less than 15 words" in content and '"- "' in content
    assert "{}" not in content and "<category>" in content


def test_llm_opt_prompt_ignores_the_dataset_and_the_scores():
    history = make_history(12)
    rescored = [(t, a / 2) for t, a in history]  # same ranking, other accuracies
    assert llm_opt_messages(history) == llm_opt_messages(rescored)
    assert DATASET not in llm_opt_messages(history)[0]["content"]


def test_render_chat_with_the_real_chat_template(smollm2):
    messages = glov_messages(make_history(4), DATASET, DESCRIPTION, 5)
    text = render_chat(smollm2.tokenizer, messages)
    assert text.endswith("<|im_start|>assistant\n")
    assert messages[0]["content"] in text and messages[1]["content"] in text
    assert text.index(messages[0]["content"]) < text.index(messages[1]["content"])


def test_render_chat_without_a_chat_template(smollm2):
    import copy

    tokenizer = copy.deepcopy(smollm2.tokenizer)
    tokenizer.chat_template = None
    messages = glov_messages(make_history(4), DATASET, DESCRIPTION, 5)
    text = render_chat(tokenizer, messages)
    assert text.startswith("System: ") and text.endswith("Assistant:")
    assert messages[1]["content"] in text
