"""The `glov` command line: the top layer, the only one that knows both the
in-process loop (glov.runs) and the Kubeflow pipeline (pipelines/).

- main.py: the parser and error handling (`error:` + `fix:`, exit 2)
- common.py: what every command shares (config arguments, run directories, the summary)
- run.py: `run` (in this process, or the pipeline DAG with --local) and `report`
- pipeline.py: `compile` and `submit`
"""
