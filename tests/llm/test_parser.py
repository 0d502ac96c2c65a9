from collections import Counter

import pytest

from glov.llm import parser
from glov.llm.parser import (
    CLASS_NAME,
    EXTRA_TEXT,
    PREFIX,
    WRAPPER,
    Rejected,
    parse_answer,
    parse_answers,
)
from glov.templates import fill_all, validate_template

MAX = 200


def reason_of(text: str, max_chars: int = MAX, truncated: bool = False) -> str:
    with pytest.raises(Rejected) as info:
        parse_answer(text, max_chars, truncated=truncated)
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


def parsed(text: str, truncated: bool = False, bullet: str = "") -> tuple[str, list[str]]:
    """(template, repair kinds) of one answer, through the batch parser."""
    result = parse_answers([text], [], MAX, truncated=[truncated], bullet=bullet)
    assert len(result.templates) == 1, result.rejected
    template = result.templates[0]
    return template, result.repairs.get(template, [])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a photo of a <category>.", "a photo of a {}."),
        # Whitespace is collapsed.
        ("  a   blurry\tphoto of a  <category>  ", "a blurry photo of a {}"),
        # Numbers and apostrophes that belong to the template survive.
        ("1.5 inch icon of a <category>", "1.5 inch icon of a {}"),
        # A year ending the template is no score.
        ("a photo of a <category> taken in 1990.", "a photo of a {} taken in 1990."),
        ("a <category>'s silhouette", "a {}'s silhouette"),
        # Balanced brackets and quotes are fine.
        (
            'a "vintage" photo of a <category> (in colour).',
            'a "vintage" photo of a {} (in colour).',
        ),
        # A real LLM-OPT answer from the smoke run.
        ("a photo of the cool <category>.", "a photo of the cool {}."),
    ],
)
def test_clean_answers(text, expected):
    assert parsed(text) == (expected, [])


def test_the_bullet_the_meta_prompt_asked_for_is_no_repair():
    # LLM-OPT asks for a line starting with "- "; GLOV's prompt does not.
    answer = "- a photo of the cool <category>."
    assert parsed(answer, bullet="- ") == ("a photo of the cool {}.", [])
    assert parsed(answer) == ("a photo of the cool {}.", [PREFIX])


@pytest.mark.parametrize(
    "text, expected, kinds",
    [
        # List markers and labels the model copies from the meta-prompt's lists.
        ("1: a photo of a <category>.", "a photo of a {}.", [PREFIX]),
        ("1. a photo of a <category>.", "a photo of a {}.", [PREFIX]),
        ("2) a photo of a <category>.", "a photo of a {}.", [PREFIX]),
        ("(2) a photo of a <category>.", "a photo of a {}.", [PREFIX]),
        ("* a photo of a <category>.", "a photo of a {}.", [PREFIX]),
        # Qwen2.5-Coder's answer to LLM-OPT's "- " list, the dash glued to the word.
        ("-a doodle of <category>", "a doodle of {}", [PREFIX]),
        ("W3: A photo of a <category>.", "A photo of a {}.", [PREFIX]),
        ("Template: a sketch of a <category>.", "a sketch of a {}.", [PREFIX]),
        ("Worst: Art of the <category>.", "Art of the {}.", [PREFIX]),
        # A short head before a colon is a label too: no `Word:` prefix survives.
        ("Texture: a close-up of <category> fabric.", "a close-up of {} fabric.", [PREFIX]),
        (
            "Here's the new template: a hand-drawn sketch of a <category>.",
            "a hand-drawn sketch of a {}.",
            [PREFIX],
        ),
        # Quotes, backticks, markdown and code fences around the template.
        ('"A close-up photo of a <category>."', "A close-up photo of a {}.", [WRAPPER]),
        ("New template: 'a drawing of a <category>.'", "a drawing of a {}.", [PREFIX, WRAPPER]),
        ("**Improved template 2:** `a pixelated <class>`", "a pixelated {}", [PREFIX, WRAPPER]),
        ("```\na photo of a <category>.\n```", "a photo of a {}.", [WRAPPER]),
        ("```text\na photo of a <category>.\n```", "a photo of a {}.", [WRAPPER]),
        # Other lines, or chatter around a quoted template.
        (
            'Sure! Here is a new template: "A close-up photo of a <category>, a type of pet." '
            "I hope this helps!",
            "A close-up photo of a {}, a type of pet.",
            [EXTRA_TEXT],
        ),
        (
            "Based on the best templates, the accuracy improves with detail.\n\n"
            "New template: a detailed drawing of a <category>, an animal.\n\n"
            "This template adds the word 'detailed', which should help CLIP.",
            "a detailed drawing of a {}, an animal.",
            [EXTRA_TEXT, PREFIX],
        ),
    ],
)
def test_repaired_answers_say_what_was_cut(text, expected, kinds):
    assert parsed(text) == (expected, kinds)


# Real answers that hold the slot and still are no template: the smoke run
# (GLOV arms, SmolLM2-135M) and bench/results.json `llm_choice` (SmolLM2, Qwen2.5-Coder).
@pytest.mark.parametrize(
    "text, reason",
    [
        (
            "a photo of a <category>, 9.31% accuracy, 85% accuracy, 2.25% accuracy, "
            "3.34% accuracy, 5",
            parser.SCORE_ECHO,
        ),
        ("W3: The new template: A photo of a <category> (9.31%)", parser.SCORE_ECHO),
        (
            "A photo of a <category> (12.27%) Error: 4.15% (11.51%) Error: 9.23% (",
            parser.SCORE_ECHO,
        ),
        ("A photo of a <category>--- Accuracy: 85.13% (", parser.SCORE_ECHO),
        ("A photo of a <category> (9.31%)", parser.SCORE_ECHO),
        ("A photo of a <category>. --- Accuracy: 9", parser.SCORE_ECHO),
        ("3: itap of a <category> --- Accuracy: 61", parser.SCORE_ECHO),
        ("a photo of the <category>. (Accuracy: 57.5%)", parser.SCORE_ECHO),
        ("Worst template: 2: A blurry photo of the <category>. Accuracy:", parser.SCORE_ECHO),
        ("a photo of a <category> with a dog. -- Accuracy", parser.SCORE_ECHO),
        ("Best template 1: art of the <category>. 4", parser.SCORE_ECHO),
        ("a photo of a <category> (85)", parser.SCORE_ECHO),
        ("a photo of a <category>, score 0.6", parser.SCORE_ECHO),
        # A bare score ending the sentence, with no punctuation before it.
        ("the <category> is 84.", parser.SCORE_ECHO),
        ("a photo of a <category> 85.13", parser.SCORE_ECHO),
        # Recited history: the first line with a slot decides, and it echoes.
        (
            "1: A photo of a cat in its natural habitat. --- Accuracy: 19\n"
            "2: a grayscale picture of a <category>. --- Accuracy: 31\n"
            "3: an image of a <category>",
            parser.SCORE_ECHO,
        ),
        # Left open.
        ('"A photo of a <category>', parser.UNBALANCED),
        ("a photo of a <category> (in the wild", parser.UNBALANCED),
        ("a photo of a <category>] in the wild", parser.UNBALANCED),
        ("a `photo of a <category>", parser.UNBALANCED),
    ],
)
def test_answers_that_are_no_template_are_rejected(text, reason):
    assert reason_of(text) == reason


def test_an_answer_cut_off_in_its_template_line_is_rejected():
    answer = "A photo of a <category> in its natural habitat, where the light falls on"
    assert reason_of(answer, truncated=True) == parser.TRUNCATED
    # The same text that ended on its own is a template.
    assert parse_answer(answer, MAX) == answer.replace("<category>", "{}")
    # Cut off inside a code fence's template line: still the last line with content.
    assert reason_of("```\na photo of a <category> in the", truncated=True) == parser.TRUNCATED
    # A cut-off answer whose template line was complete: only the chatter was cut.
    chatty = "A photo of a <category>.\nThis template works because the"
    assert parsed(chatty, truncated=True) == ("A photo of a {}.", [EXTRA_TEXT])


def test_a_line_that_announces_a_template_is_no_template():
    # A real SmolLM2 answer to LLM-OPT's prompt (bench/results.json, llm_choice): the
    # template it announces never came.
    intro = (
        "Here's a rewritten template that focuses on the importance of <category> "
        "without repeating the existing template:"
    )
    assert reason_of(intro) == parser.TRUNCATED
    # When it does come, on a later line, that line is the answer.
    assert parsed(intro + "\na photo of a <category>.") == ("a photo of a {}.", [EXTRA_TEXT])


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
    assert parse_answer(f'1: "{body}"', 15) == "a photo of a {}"
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
        "score-echo",
        "unbalanced",
        "truncated",
    }
    assert set(parser.REPAIRS) == {"prefix", "wrapper", "extra-text", "class-name"}
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
        "Template: a drawing of a <label>",  # kept, repaired
        "ITAP of a <category>.",  # duplicate of known
        "a photo of a <category> (61%)",  # score-echo
        "a photo of a <category> (wild",  # unbalanced
        "a close-up photo of a <category> in",  # truncated (see below)
    ]
    truncated = [False] * (len(texts) - 1) + [True]
    result = parse_answers(texts, known, MAX, truncated=truncated)
    assert result.templates == ["a sketch of a {}.", "a drawing of a {}"]
    assert result.repairs == {"a drawing of a {}": [PREFIX]}
    assert (result.clean, result.repaired) == (1, 1)
    assert result.rejections == Counter(
        {
            "duplicate": 3,
            "empty": 1,
            "no-placeholder": 1,
            "multiple-placeholders": 1,
            "format-field": 1,
            "too-long": 1,
            "score-echo": 1,
            "unbalanced": 1,
            "truncated": 1,
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
    assert result.repairs["A painting of a {}."] == [CLASS_NAME]
    assert result.rejections == Counter({parser.DUPLICATE: 1, parser.NO_PLACEHOLDER: 1})
    # Prometheus labels come from REASONS.
    assert set(result.rejections) <= set(parser.REASONS)
