"""Hand-written baseline templates: S-TEMP (one template) and DS-TEMP (an ensemble).

DS-TEMP is the set of prompts CLIP's authors published for a dataset (their
per-dataset prompt lists; ImageNet's is the 80-template ensemble), kept as
data in ds_templates.json. `eval.ds_templates: auto` picks the set of the
dataset by its name and falls back to ImageNet's 80 for a dataset CLIP's
authors published no list for.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from glov.errors import ConfigError
from glov.templates import TemplateError, validate_template

# CLIP's plain zero-shot template; also GLOV's seed template.
S_TEMP = "A photo of a {}."

AUTO = "auto"
DEFAULT_SET = "imagenet"
# Older configs name ImageNet's 80 templates this way; they keep working.
_LEGACY_NAMES = {"openai-imagenet": DEFAULT_SET}
_DATA = Path(__file__).with_name("ds_templates.json")


@dataclass(frozen=True)
class TemplateSet:
    name: str  # the set's name, or "custom" for a list given in the config
    templates: list[str]


@cache
def _sets() -> tuple[dict[str, list[str]], dict[str, str]]:
    """(set name -> templates, normalised dataset name -> set name)."""
    doc = json.loads(_DATA.read_text())
    sets = {name: [validate_template(t) for t in ts] for name, ts in doc["sets"].items()}
    aliases = {alias: name for name, names in doc["aliases"].items() for alias in names}
    return sets, aliases


def _key(dataset_name: str) -> str:
    # "Oxford-IIIT Pet", "oxford_pets" and "OxfordPets" are one dataset.
    return re.sub(r"[^a-z0-9]", "", dataset_name.lower())


def set_names() -> list[str]:
    return sorted(_sets()[0])


def set_for_dataset(dataset_name: str | None) -> str:
    """The published set of a dataset by its name, else ImageNet's (the default)."""
    aliases = _sets()[1]
    return aliases.get(_key(dataset_name or ""), DEFAULT_SET)


def resolve_ds_templates(
    spec: str | list[str], dataset_name: str | None = None, dataset_set: str | None = None
) -> TemplateSet:
    """The DS-TEMP ensemble: "auto" (the catalogue dataset's `dataset_set`, else by
    `dataset_name`), a set name, or a list of templates."""
    if isinstance(spec, str):
        sets = _sets()[0]
        if spec == AUTO:
            name = dataset_set or set_for_dataset(dataset_name)
        else:
            name = _LEGACY_NAMES.get(spec, spec)
        if name not in sets:
            raise ConfigError(
                f"unknown DS-TEMP template set {spec!r}",
                f"set eval.ds_templates to {AUTO}, one of {', '.join(set_names())} "
                "or a list of templates",
            )
        return TemplateSet(name, list(sets[name]))
    if not spec:
        raise ConfigError("eval.ds_templates is an empty list", "give at least one template")
    for template in spec:
        try:
            validate_template(template)
        except TemplateError as exc:
            raise ConfigError(
                f"eval.ds_templates has an invalid template: {exc}",
                "write each template with exactly one '{}' class slot and no other braces",
            ) from None
    return TemplateSet("custom", list(spec))


def ds_templates(spec: str | list[str], dataset_name: str | None = None) -> list[str]:
    """The templates of `resolve_ds_templates` (ImageNet's 80 for "imagenet")."""
    return resolve_ds_templates(spec, dataset_name).templates


# DS-TEMP is CLIP's authors' ensemble of slot templates. For a generative VLM it
# would cost one generation per template and test image (80 x N for ImageNet's set)
# and is not the paper's baseline for LLaVA, whose S-TEMP is the seed prompt; the
# final evaluation skips it (glov.config.kinds: VLMKind.ds_temp) and the report says why.
DS_TEMP_NOT_APPLICABLE = (
    "not applicable to a generative VLM (the paper's baseline is S-TEMP, the seed prompt)"
)
