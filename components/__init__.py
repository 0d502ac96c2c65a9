"""Kubeflow Pipelines components: one small file per GLOV stage.

data_prep, seed_template, generate, evaluate, rank, fused_step, final. Each
calls its task in components/tasks/ inside the pod. Beside them:
run_parameters.py (the run-parameter table) and images.py (image names).
"""
