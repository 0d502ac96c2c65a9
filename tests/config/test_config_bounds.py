"""Values that are valid YAML but meaningless are refused when the config loads,
naming the key and the fix (not hours later, not with a traceback)."""

from __future__ import annotations

import pytest

from glov.config import load_config
from glov.errors import ConfigError


@pytest.mark.parametrize(
    ("override", "key", "fix"),
    [
        ("guidance.alphas=[]", "guidance.alphas", "at least 1 element"),
        ("data.classnames=[]", "data.classnames", "at least 1 element"),
        ("eval.ds_templates=[]", "eval.ds_templates", "as the message says"),
        ("llm.max_new_tokens=1000000", "llm.max_new_tokens", "<= 4096"),
        ("search.steps=100000", "search.steps", "<= 10000"),
        ("search.candidates=100000", "search.candidates", "<= 1000"),
        ("search.seed_template=A photo", "search.seed_template", "as the message says"),
        ("search.seed_template=A {} of a {}", "search.seed_template", "as the message says"),
        ("eval.ds_templates=['a {}', 'no slot']", "eval.ds_templates", "as the message says"),
    ],
)
def test_meaningless_value_is_refused_by_key(override, key, fix):
    with pytest.raises(ConfigError) as err:
        load_config("smoke", [override])
    assert repr(key) in err.value.problem
    assert fix in err.value.fix


def test_sane_values_at_the_bounds_load():
    cfg = load_config(
        "smoke",
        ["llm.max_new_tokens=4096", "search.steps=10000", "guidance.alphas=[0.5]"],
    )
    assert cfg.llm.max_new_tokens == 4096 and cfg.guidance.alphas == [0.5]
