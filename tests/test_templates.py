import pytest

from glov.templates import TemplateError, fill, fill_all, validate_template


def test_fill_replaces_the_single_slot_without_format():
    assert fill("a photo of a {}.", "dog") == "a photo of a dog."
    # A class name with braces is inserted literally, never interpreted.
    assert fill("a {} photo", "{0.__class__}") == "a {0.__class__} photo"
    assert fill_all("{} here", ["a", "b"]) == ["a here", "b here"]


@pytest.mark.parametrize(
    "bad", ["", "   ", "no slot", "{} and {}", "{0.__class__} {}", "{x}", "a { } {}", "{}}"]
)
def test_invalid_templates_are_rejected(bad):
    with pytest.raises(TemplateError):
        validate_template(bad)
