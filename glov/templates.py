"""Prompt templates with exactly one class slot, filled without str.format.

Templates come from an LLM, i.e. untrusted text: `str.format` on them would
evaluate fields such as `{0.__class__}`. The canonical slot is the literal `{}`
and filling is a plain string replacement.
"""

SLOT = "{}"


class TemplateError(ValueError):
    """A template that does not have exactly one `{}` slot and no other braces."""


def validate_template(template: str) -> str:
    """Return the template if it has exactly one `{}` and no other brace."""
    if not template or not template.strip():
        raise TemplateError("template is empty")
    if template.count(SLOT) != 1:
        raise TemplateError(f"template must contain exactly one '{{}}' slot: {template!r}")
    rest = template.replace(SLOT, "")
    if "{" in rest or "}" in rest:
        raise TemplateError(f"template has braces besides its '{{}}' slot: {template!r}")
    return template


def fill_all(template: str, classnames: list[str]) -> list[str]:
    validate_template(template)
    return [template.replace(SLOT, name, 1) for name in classnames]


def normalise(template: str) -> str:
    """The key under which two templates are the same (case and spacing do not matter)."""
    return " ".join(template.lower().split())


def validate_prompt(prompt: str) -> str:
    """Return a free-form prompt (generative VLMs) if it is safe to use.

    A generative VLM is shown the instruction itself, so no slot is needed; at
    most one `{}` may remain (it reads as a generic noun, glov.vlm.generative
    .prompts), and no other brace, for the same untrusted-text reason as above.
    """
    if not prompt or not prompt.strip():
        raise TemplateError("prompt is empty")
    if prompt.count(SLOT) > 1:
        raise TemplateError(f"prompt has more than one '{{}}' slot: {prompt!r}")
    rest = prompt.replace(SLOT, "")
    if "{" in rest or "}" in rest:
        raise TemplateError(f"prompt has braces besides a '{{}}' slot: {prompt!r}")
    return prompt
