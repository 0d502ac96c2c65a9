"""Hand-written baseline templates: S-TEMP (one template) and DS-TEMP (an ensemble)."""

from __future__ import annotations

from glov.errors import ConfigError
from glov.templates import TemplateError, validate_template

# CLIP's plain zero-shot template; also GLOV's seed template.
S_TEMP = "A photo of a {}."

DS_TEMPLATE_SETS = ("openai-imagenet",)


def _openai_imagenet() -> list[str]:
    # Imported here: open_clip pulls in torch, and reading a baseline name must stay cheap.
    from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES

    # Each entry is `lambda c: f"...{c}..."`; rendering it with the literal slot
    # turns it into a template without ever calling str.format.
    return [validate_template(render("{}")) for render in OPENAI_IMAGENET_TEMPLATES]


def ds_templates(spec: str | list[str]) -> list[str]:
    """The DS-TEMP ensemble: a named set ("openai-imagenet": CLIP's 80) or a list of templates."""
    if isinstance(spec, str):
        if spec == "openai-imagenet":
            return _openai_imagenet()
        raise ConfigError(
            f"unknown DS-TEMP template set {spec!r}",
            f"set eval.ds_templates to one of {', '.join(DS_TEMPLATE_SETS)} or a list of templates",
        )
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
    return list(spec)
