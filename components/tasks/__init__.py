"""The task functions the components call inside their pods (plain Python, no kfp).

Each component in components/ calls one `*_task` function with the local paths
of its input and output artifacts. The tasks run the library's stages
(glov.search.step, glov.runs) and keep the run directory the single source of
truth: a step whose record is already there (a retried task, a re-run
pipeline) is reused, never recomputed.

- artifacts.py: the artifact files passed between tasks (config, histories, candidates)
- prepare.py: data_prep
- models.py: shared_models (the converted LLM and trained VLM, once per run)
- steps.py: generate, evaluate, rank and fused steps
- final.py: the final evaluation and report
"""
