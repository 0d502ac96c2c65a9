from collections import Counter

import pytest

from glov.llm import parser
from glov.llm.parser import Rejected, parse_answer, parse_answers
from glov.templates import fill_all, validate_template

MAX = 200


def reason_of(text: str, max_chars: int = MAX) -> str:
    with pytest.raises(Rejected) as info:
        parse_answer(text, max_chars)
    return info.value.reason


SPELLINGS = [
    "<category>",
    "<CATEGORY>",
    "<Category>",
    "< category >",
    "<class>",
    "<CLASS>",
    "<classname>",
    "<className>",
    "<class name>",
    "<class_name>",
    "<category name>",
    "<category_name>",
    "<label>",
    "<label name>",
    "[category]",
    "[CATEGORY]",
    "[class]",
    "[class name]",
    "[label]",
    "{category}",
    "{CATEGORY}",
    "{class}",
    "{classname}",
    "{class_name}",
    "{}",
    "{{category}}",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_placeholder_spelling_maps_to_the_slot(spelling):
    assert parse_answer(f"a photo of a {spelling}.", MAX) == "a photo of a {}."


@pytest.mark.parametrize(
    "text, expected",
    [
        # Numbering and bullets the model copies from the meta-prompt's lists.
        ("1: a photo of a <category>.", "a photo of a {}."),
        ("1. a photo of a <category>.", "a photo of a {}."),
        ("2) a photo of a <category>.", "a photo of a {}."),
        ("(2) a photo of a <category>.", "a photo of a {}."),
        ("- a photo of a <category>.", "a photo of a {}."),
        ("* a photo of a <category>.", "a photo of a {}."),
        # Labels, markdown, quotes and backticks.
        ("Template: a sketch of a <category>.", "a sketch of a {}."),
        ("New template: 'a drawing of a <category>.'", "a drawing of a {}."),
        ("**Improved template 2:** `a pixelated <class>`", "a pixelated {}"),
        ('"A close-up photo of a <category>, an animal."', "A close-up photo of a {}, an animal."),
        ("Best template 1: art of the <category>. 4", "art of the {}."),
        ("Worst: Art of the <category>.", "Art of the {}."),
        # An echoed score.
        ("3: itap of a <category> --- Accuracy: 61", "itap of a {}"),
        ("a photo of the <category>. (Accuracy: 57.5%)", "a photo of the {}."),
        # ... or one cut off by the token limit (seen from SmolLM2-135M).
        (
            "Worst template: 2: A blurry photo of the <category>. Accuracy:",
            "A blurry photo of the {}.",
        ),
        ("a photo of a <category> with a dog. -- Accuracy", "a photo of a {} with a dog."),
        # Whitespace is collapsed.
        ("  a   blurry\tphoto of a  <category>  ", "a blurry photo of a {}"),
        # Colons and numbers that belong to the template survive.
        ("Texture: a close-up of <category> fabric.", "Texture: a close-up of {} fabric."),
        ("1.5 inch icon of a <category>", "1.5 inch icon of a {}"),
        ("a <category>'s silhouette", "a {}'s silhouette"),
    ],
)
def test_decoration_is_stripped(text, expected):
    assert parse_answer(text, MAX) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            'Sure! Here is a new template: "A close-up photo of a <category>, a type of pet." '
            "I hope this helps!",
            "A close-up photo of a {}, a type of pet.",
        ),
        (
            "Here's the new template: a hand-drawn sketch of a <category>.",
            "a hand-drawn sketch of a {}.",
        ),
        (
            "Based on the best templates, the accuracy improves with detail.\n\n"
            "New template: a detailed drawing of a <category>, an animal.\n\n"
            "This template adds the word 'detailed', which should help CLIP.",
            "a detailed drawing of a {}, an animal.",
        ),
        (
            # SmolLM2-135M likes to re-list templates: the first one with a slot wins.
            "1: A photo of a cat in its natural habitat. --- Accuracy: 19\n"
            "2: a grayscale picture of a <category>. --- Accuracy: 31\n"
            "3: an image of a <category>",
            "a grayscale picture of a {}.",
        ),
    ],
)
def test_chatty_answers(text, expected):
    assert parse_answer(text, MAX) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\n \t\n"])
def test_empty(text):
    assert reason_of(text) == parser.EMPTY


@pytest.mark.parametrize(
    "text",
    [
        "A photo of a cat.",
        "1. A photo of a cat.\n2. A blurry photo of a cat.\n3. A cat.",
        "Here is a rewritten template that focuses on the best ones.",
        "a photo of a <object>.",  # not a category placeholder spelling
        "a photo of a category.",
    ],
)
def test_no_placeholder(text):
    assert reason_of(text) == parser.NO_PLACEHOLDER


@pytest.mark.parametrize(
    "text",
    [
        "a photo of a <category>, a type of <category>.",
        "a <class> next to a [class]",
        "{} and {}",
    ],
)
def test_multiple_placeholders(text):
    assert reason_of(text) == parser.MULTIPLE_PLACEHOLDERS


@pytest.mark.parametrize(
    "text",
    [
        "a photo of a <category> {0.__class__}",
        "{0.__class__.__init__.__globals__}",
        "a photo of a {x}.",
        "a photo of {0}",
        "a photo of a <category> {",
        "a photo of a <category> }",
        "a {flower} photo of a <category>",
    ],
)
def test_format_fields_are_rejected(text):
    assert reason_of(text) == parser.FORMAT_FIELD


def test_too_long_is_measured_on_the_cleaned_template():
    body = "a photo of a <category>"  # 23 chars, 15 once mapped to {}
    assert parse_answer(body, 15) == "a photo of a {}"
    assert reason_of(body, 14) == parser.TOO_LONG
    # Decoration does not count towards the limit.
    assert parse_answer(f'1: "{body}" --- Accuracy: 40', 15) == "a photo of a {}"
    assert reason_of("a " * 150 + "<category>") == parser.TOO_LONG


def test_results_always_pass_validate_template():
    texts = [f"a photo of a {s}." for s in SPELLINGS] + [
        'Sure! Here is one: "a sketch of a <class>." Enjoy.'
    ]
    for text in texts:
        template = parse_answer(text, MAX)
        assert validate_template(template) == template
        assert fill_all(template, ["golden retriever"])[0].count("golden retriever") == 1


def test_reason_constants():
    assert set(parser.REASONS) == {
        "empty",
        "too-long",
        "no-placeholder",
        "multiple-placeholders",
        "format-field",
        "duplicate",
    }
    assert Rejected("empty").reason == "empty"


def test_parse_answers_counts_every_reason_and_keeps_order():
    known = {"A photo of a {}.", "itap of a {}."}
    texts = [
        "a sketch of a <category>.",  # kept
        "a photo  of a <CLASS>.",  # duplicate of known (case and spaces differ)
        "",  # empty
        "A Sketch of a [category].",  # duplicate within the batch
        "a cat",  # no-placeholder
        "<category> and <category>",  # multiple
        "{x} <category>",  # format-field
        "a " * 120 + "<category>",  # too-long
        "Template: a drawing of a <label>",  # kept
        "ITAP of a <category>.",  # duplicate of known
    ]
    result = parse_answers(texts, known, MAX)
    assert result.templates == ["a sketch of a {}.", "a drawing of a {}"]
    assert result.rejections == Counter(
        {
            "duplicate": 3,
            "empty": 1,
            "no-placeholder": 1,
            "multiple-placeholders": 1,
            "format-field": 1,
            "too-long": 1,
        }
    )
    assert sum(result.rejections.values()) + len(result.templates) == len(texts)
    assert [reason for _, reason in result.rejected][:2] == ["duplicate", "empty"]
    assert result.rejected[0][0] == texts[1]


def test_parse_answers_on_an_all_rejected_batch():
    result = parse_answers(["no slot here", "none here either"], set(), MAX)
    assert result.templates == []
    assert result.rejections == Counter({"no-placeholder": 2})


# --- class-name repair (search.repair_classnames) ---------------------------

ANIMALS = ["bear", "polar bear", "cat", "zebra", "golden_retriever"]


def test_repair_is_off_by_default():
    # Without class names, an answer that names a class is still no template.
    assert reason_of("A photo of a zebra.") == parser.NO_PLACEHOLDER
    result = parse_answers(["A photo of a zebra."], [], MAX)
    assert result.templates == [] and result.repaired == 0
    assert result.rejections == Counter({parser.NO_PLACEHOLDER: 1})


@pytest.mark.parametrize(
    ("answer", "template"),
    [
        ("A photo of a zebra.", "A photo of a {}."),
        # Case-insensitive, and the decoration is cut as for a clean answer.
        ('Template: "A blurry photo of a ZEBRA."', "A blurry photo of a {}."),
        # Longest name first: "polar bear" is one class, not "polar" + bear.
        ("A drawing of a polar bear in the snow.", "A drawing of a {} in the snow."),
        # Underscored class names match their spaced spelling.
        ("A photo of my Golden Retriever.", "A photo of my {}."),
        # The first line that names a class is the template.
        ("Sure!\nA sketch of a cat.\nHope it helps.", "A sketch of a {}."),
    ],
)
def test_one_class_name_becomes_the_slot(answer, template):
    assert parse_answer(answer, MAX, ANIMALS) == template


@pytest.mark.parametrize(
    "answer",
    [
        "A photo of a cat and a zebra.",  # two classes: which is the category?
        "A cat, another cat.",  # one class twice
        "A photo of a bear next to a polar bear.",  # overlapping names, two matches
    ],
)
def test_ambiguous_class_names_are_rejected(answer):
    with pytest.raises(Rejected) as info:
        parse_answer(answer, MAX, ANIMALS)
    assert info.value.reason == parser.NO_PLACEHOLDER


def test_only_whole_words_are_repaired():
    # "cat" inside "category"/"scatter" and "bear" inside "bearded" are no class names.
    with pytest.raises(Rejected):
        parse_answer("A scattered photo of a bearded category.", MAX, ANIMALS)


def test_a_kept_placeholder_wins_over_a_class_name():
    # A clean answer is not touched by the repair, even if it also names a class.
    assert parse_answer("A <category> that looks like a cat.", MAX, ANIMALS) == (
        "A {} that looks like a cat."
    )


def test_repaired_templates_are_counted_apart_from_clean_ones():
    answers = [
        "A photo of a <category>.",  # clean
        "A painting of a zebra.",  # repaired
        "A painting of a cat.",  # repaired to the same template: a duplicate
        "A cat and a zebra.",  # ambiguous: rejected
        "A close-up photo of a bear.",  # repaired
    ]
    result = parse_answers(answers, [], MAX, ANIMALS)
    assert result.templates == [
        "A photo of a {}.",
        "A painting of a {}.",
        "A close-up photo of a {}.",
    ]
    assert result.repaired == 2 and result.clean == 1
    assert result.rejections == Counter({parser.DUPLICATE: 1, parser.NO_PLACEHOLDER: 1})
    # No new rejection reason: Prometheus labels come from REASONS.
    assert set(result.rejections) <= set(parser.REASONS)
