"""DS-TEMP and S-TEMP baseline templates."""

from __future__ import annotations

import pytest

from glov.errors import ConfigError
from glov.templates import validate_template
from glov.vlm.baselines import S_TEMP, ds_templates, resolve_ds_templates


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
    with pytest.raises(ConfigError, match="auto, .*imagenet"):
        ds_templates("openai-imagenette")


def test_the_data_file_holds_clips_imagenet_80():
    from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES

    assert ds_templates("imagenet") == [f("{}") for f in OPENAI_IMAGENET_TEMPLATES]


@pytest.mark.parametrize(
    "dataset, name, size",
    [
        ("DTD", "dtd", 8),
        ("Describable Textures", "dtd", 8),
        ("EuroSAT", "eurosat", 3),
        ("food-101", "food101", 1),
        ("Oxford Flowers 102", "flowers102", 1),
        ("Oxford-IIIT Pet", "oxford-pets", 1),
        ("caltech_101", "caltech101", 34),
        ("FGVC-Aircraft", "fgvc-aircraft", 2),
        ("Stanford Cars", "stanford-cars", 8),
        ("SUN397", "sun397", 2),
        ("UCF101", "ucf101", 48),
        ("CIFAR-10", "cifar10", 18),
        ("cifar100", "cifar100", 18),
        ("ImageNet", "imagenet", 80),
        ("Animal-MNIST", "imagenet", 80),  # no published set: ImageNet's 80
        (None, "imagenet", 80),
    ],
)
def test_auto_picks_the_published_set_of_the_dataset(dataset, name, size):
    chosen = resolve_ds_templates("auto", dataset)
    assert (chosen.name, len(chosen.templates)) == (name, size)
    assert len(set(chosen.templates)) == size
    for t in chosen.templates:
        validate_template(t)


def test_named_sets_and_lists_ignore_the_dataset():
    assert resolve_ds_templates("openai-imagenet", "DTD").name == "imagenet"
    assert (
        resolve_ds_templates("eurosat", "DTD").templates[0] == "a centered satellite photo of {}."
    )
    assert resolve_ds_templates(["a {}"], "DTD").name == "custom"


def test_auto_is_the_default():
    from glov.config.schema import EvalConfig

    assert EvalConfig().ds_templates == "auto"
