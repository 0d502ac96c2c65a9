"""The GLOV Kubeflow pipeline (DAG), its compiler and submitter."""
