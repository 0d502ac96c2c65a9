"""The parser on real answers: no kept template echoes a score or carries a label prefix.

tests/llm/data/recorded_answers.json holds real SmolLM2 (and Qwen2.5-Coder)
answers to the smoke profile's meta-prompts, among them every answer of the
`make run` whose GLOV arms ended with `A photo of a {} (9.31%)` as their best
template (see the file's `about`). Each answer goes through the parser as
its run would parse it (class-name repair on, as in the smoke profile;
LLM-OPT's "- " as asked).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from glov.llm.metaprompt import ANSWER_BULLET
from glov.llm.parser import parse_answers

RECORDED = json.loads((Path(__file__).parent / "data" / "recorded_answers.json").read_text())
# What a template a person would use never holds (the list): a percent
# sign, Accuracy, Error:, the history's --- separator, or a `Word:`/`W3:` prefix.
JUNK = re.compile(r"%|accuracy|error:|---|^\W*\w+\d*\s*:", re.IGNORECASE)


@pytest.fixture(scope="module")
def parsed():
    """Per recorded answer, the parse as its run would do it (alone: no duplicates)."""
    out = []
    for entry in RECORDED["answers"]:
        bullet = ANSWER_BULLET if entry["method"] == "llm-opt" else ""
        result = parse_answers(
            [entry["answer"]], [], 1000, RECORDED["classnames"], [entry["truncated"]], bullet
        )
        out.append((entry, result))
    return out


def test_no_kept_template_is_junk(parsed):
    kept = [t for _, result in parsed for t in result.templates]
    assert kept, "the recorded answers hold usable templates too"
    assert [t for t in kept if JUNK.search(t)] == []


def test_what_the_old_parser_scored_is_refused_or_cleaned(parsed):
    kept = {t for _, result in parsed for t in result.templates}
    junk = [t for t in RECORDED["scored_by_the_old_parser"] if JUNK.search(t)]
    # The run's best template among them, as the issue saw it.
    assert "A photo of a {} (9.31%)" in junk
    assert not kept & set(junk)


def test_every_answer_is_counted_once(parsed):
    counts: Counter[str] = Counter()
    for _, result in parsed:
        assert result.clean + result.repaired + sum(result.rejections.values()) == 1
        counts["clean"] += result.clean
        counts["repaired"] += result.repaired
        counts.update(result.rejections)
    assert sum(counts.values()) == len(RECORDED["answers"])
    # As measured when the parser learnt to refuse echoes: none of these 71 answers
    # is a clean template, 5 are repaired; most of the rest name no class at all,
    # and 29 echo the history's scores. A change here is a change of the parser.
    assert counts == {
        "clean": 0,
        "repaired": 5,
        "no-placeholder": 35,
        "score-echo": 29,
        "truncated": 2,
    }
