"""Kubeflow Pipelines components: one thin wrapper per GLOV stage."""
