import pytest

from glov.config import config_to_yaml, load_config, profile_names, validate_config
from glov.errors import ConfigError


def test_shipped_profiles_load():
    assert {"smoke", "paper-clip"} <= set(profile_names())
    for name in profile_names():
        cfg = load_config(name)
        assert cfg.profile == name


def test_smoke_profile_uses_weights_built_here_and_paper_uses_clip():
    smoke = load_config("smoke")
    assert not smoke.uses_random_weights
    assert (smoke.vlm.model, smoke.vlm.pretrained) == (
        "glov-lit-minilm",
        "build://lit-animal-mnist",
    )
    paper = load_config("paper-clip")
    assert not paper.uses_random_weights
    assert (paper.search.steps, paper.search.candidates, paper.data.shots) == (100, 10, 1)
    assert paper.llm.model == "meta-llama/Meta-Llama-3-8B-Instruct"
    assert (paper.vlm.model, paper.vlm.pretrained) == ("ViT-B-32", "openai")


def test_overrides_parse_yaml_scalars_and_lists():
    cfg = load_config(
        "smoke", ["llm.temperature=0.7", "guidance.alphas=[0.5, 0.25]", "vlm.pretrained=null"]
    )
    assert cfg.llm.temperature == 0.7
    assert cfg.guidance.alphas == [0.5, 0.25]
    assert cfg.vlm.pretrained is None


def test_yaml_file_profile(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("search:\n  steps: 3\n")
    cfg = load_config(str(path))
    assert cfg.search.steps == 3 and cfg.profile == "mine"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("llm.temprature=1", "did you mean 'llm.temperature'"),
        ("nosuch=1", "does not exist"),
        ("llm.temperature=hot", "llm.temperature"),
        ("search.steps=-1", "search.steps"),
        ("guidance.layer=1.5", "depth fraction"),
        ("novalue", "key=value"),
    ],
)
def test_bad_overrides_name_the_key(override, expected):
    with pytest.raises(ConfigError, match=expected) as exc:
        load_config("smoke", [override])
    assert exc.value.fix


def test_unknown_profile_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="no profile"):
        load_config("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("search: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:2:1: invalid YAML: expected ',' or ']'"):
        load_config(str(bad))
    extra = tmp_path / "extra.yaml"
    extra.write_text("search:\n  stepz: 3\n")
    with pytest.raises(ConfigError, match="search.stepz"):
        load_config(str(extra))


def test_yaml_round_trip():
    import yaml

    cfg = load_config("paper-clip", ["search.steps=7"])
    assert validate_config(yaml.safe_load(config_to_yaml(cfg))) == cfg
