"""DS-TEMP and S-TEMP baseline templates."""

from __future__ import annotations

import pytest

from glov.errors import ConfigError
from glov.templates import validate_template
from glov.vlm.baselines import S_TEMP, ds_templates


def test_openai_imagenet_has_80_single_slot_templates():
    templates = ds_templates("openai-imagenet")
    assert len(templates) == 80
    assert len(set(templates)) == 80
    for t in templates:
        assert t.count("{}") == 1
        validate_template(t)
    assert "a photo of a {}." in templates


def test_list_is_validated_and_returned():
    assert ds_templates(["a {}", "the {} here"]) == ["a {}", "the {} here"]
    assert validate_template(S_TEMP) == "A photo of a {}."
    with pytest.raises(ConfigError, match="invalid template"):
        ds_templates(["a {}", "no slot"])
    with pytest.raises(ConfigError, match="braces"):
        ds_templates(["a {} {0.__class__}"])
    with pytest.raises(ConfigError, match="empty"):
        ds_templates([])


def test_unknown_template_set_is_a_config_error():
    with pytest.raises(ConfigError, match="openai-imagenet"):
        ds_templates("openai-imagenette")
