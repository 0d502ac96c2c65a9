"""The report names the DS-TEMP template set it used."""

from glov.runs.report import render_markdown


def _report(ds_temp: dict) -> dict:
    return {
        "run_id": "r1",
        "note": None,
        "dataset": {
            "name": "DTD",
            "classes": 47,
            "shots": 1,
            "fitness_images": 47,
            "test_images": 100,
        },
        "vlm": {"model": "ViT-B-32", "pretrained": "openai"},
        "llm": {"model": "m"},
        "search": {"method": "glov", "steps": 1, "candidates": 1, "seed": 0},
        "baselines": {"s_temp": {"template": "A photo of a {}.", "test": 0.4}, "ds_temp": ds_temp},
        "arms": {},
        "selected": {},
    }


def test_the_ds_temp_row_names_its_set():
    md = render_markdown(_report({"set": "dtd", "templates": 8, "test": 0.45}))
    assert "| DS-TEMP | `dtd` set, 8 templates | - | - | 45.0 |" in md
    # A report written before the set was recorded still renders.
    old = render_markdown(_report({"templates": 80, "test": 0.45}))
    assert "| DS-TEMP | 80 templates |" in old
