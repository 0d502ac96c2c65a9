"""The table of VLM kinds and objectives: every row resolves, the config takes exactly
its names, and the library reads rows instead of comparing kind names."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from pydantic import ValidationError

from glov.config import ObjectiveConfig, VLMConfig, kinds, load_config

GLOV = Path(__file__).resolve().parents[2] / "glov"
# The bound: at most this many places in glov/ compare a kind to a string.
MAX_KIND_COMPARISONS = 3


def _refs():
    for row in [*kinds.VLM_KINDS.values(), *kinds.OBJECTIVES.values()]:
        for field in ("scorer", "data", "report", "wording"):
            ref = getattr(row, field, None)
            if ref is not None:
                yield pytest.param(ref, id=f"{row.name}.{field}")


@pytest.mark.parametrize("ref", list(_refs()))
def test_every_row_names_code_that_exists(ref):
    assert kinds.load(ref) is not None


@pytest.mark.parametrize("name", sorted(kinds.VLM_KINDS))
def test_every_scorer_builder_takes_the_same_arguments(name):
    rows = [kinds.VLM_KINDS[name].scorer]
    rows += [o.scorer for o in kinds.OBJECTIVES.values() if o.scorer and name in o.vlm_kinds]
    for ref in rows:
        params = list(inspect.signature(kinds.load(ref)).parameters)
        assert params == [
            "cfg",
            "objective",
            "cache_dir",
            "shared_features",
            "model_share",
        ], ref


def test_report_modules_have_the_three_functions():
    for o in kinds.OBJECTIVES.values():
        if o.report:
            module = kinds.load(o.report)
            for function in ("final_section", "dataset_line", "markdown"):
                assert callable(getattr(module, function)), (o.name, function)


def test_the_config_takes_exactly_the_table_names():
    for name in kinds.VLM_KINDS:
        assert VLMConfig(kind=name).kind == name
    for name in kinds.OBJECTIVES:
        assert ObjectiveConfig(kind=name).kind == name
    with pytest.raises(ValidationError):
        VLMConfig(kind="siglip")
    with pytest.raises(ValidationError):
        ObjectiveConfig(kind="captioning")
    for o in kinds.OBJECTIVES.values():
        assert set(o.vlm_kinds) <= set(kinds.VLM_KINDS), o.name


def test_rows_follow_the_config():
    smoke, safety = load_config("smoke"), load_config("paper-safety")
    assert smoke.vlm_kind is kinds.VLM_KINDS["clip"] and smoke.vlm_kind.slot_templates
    assert safety.objective_kind is kinds.OBJECTIVES["safety"]
    assert safety.free_form_prompts and not safety.objective_kind.shards


def test_an_objective_refuses_a_vlm_kind_it_cannot_score_with():
    from glov.errors import ConfigError

    with pytest.raises(ConfigError, match=r"objective.kind=safety needs vlm.kind=generative"):
        load_config("smoke", ["objective.kind=safety"])


def _kind_comparisons(tree: ast.AST) -> list[int]:
    """Lines comparing `<x>.vlm.kind` / `<x>.objective.kind` (or a `vlm_kind`
    variable) to a string constant."""

    def is_kind(node: ast.AST) -> bool:
        if isinstance(node, ast.Attribute) and node.attr == "kind":
            owner = node.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            return name in ("vlm", "objective")
        return isinstance(node, ast.Name) and node.id in ("vlm_kind", "objective_kind")

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            strings = [s for s in sides if isinstance(s, ast.Constant) and isinstance(s.value, str)]
            if strings and any(is_kind(s) for s in sides):
                lines.append(node.lineno)
    return lines


def test_the_library_reads_rows_instead_of_comparing_kind_names():
    found = {}
    for path in GLOV.rglob("*.py"):
        lines = _kind_comparisons(ast.parse(path.read_text()))
        if lines:
            found[str(path.relative_to(GLOV))] = lines
    assert sum(len(v) for v in found.values()) <= MAX_KIND_COMPARISONS, found


def test_the_comparison_finder_finds_comparisons():
    code = 'if cfg.vlm.kind == "clip" or "safety" != self.cfg.objective.kind: pass'
    assert len(_kind_comparisons(ast.parse(code))) == 2
