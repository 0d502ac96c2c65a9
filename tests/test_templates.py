import pytest

from glov.templates import TemplateError, fill_all, normalise, validate_template


def test_fill_replaces_the_single_slot_without_format():
    assert fill_all("a photo of a {}.", ["dog"]) == ["a photo of a dog."]
    # A class name with braces is inserted literally, never interpreted.
    assert fill_all("a {} photo", ["{0.__class__}"]) == ["a {0.__class__} photo"]
    assert fill_all("{} here", ["a", "b"]) == ["a here", "b here"]


@pytest.mark.parametrize(
    "bad", ["", "   ", "no slot", "{} and {}", "{0.__class__} {}", "{x}", "a { } {}", "{}}"]
)
def test_invalid_templates_are_rejected(bad):
    with pytest.raises(TemplateError):
        validate_template(bad)


def test_normalise_ignores_case_and_spacing_only():
    assert normalise("  A Photo\tof a {}. ") == normalise("a photo of a {}.")
    assert normalise("a photo of a {}.") != normalise("a photo of the {}.")
