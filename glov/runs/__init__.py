"""A run: its directory in the store, its execution, its final evaluation and report.

- rundir.py: the run directory (config, data.json, per-arm step records, report),
  opening modes and run ids
- inputs.py: local copies of s3:// inputs, the run's data splits
- models.py: the VLM scorer, the optimizer LLM and steering vectors, loaded once
- execute.py: one step of one arm, persisted (shared by the loop and the pipeline)
- loop.py: every arm in one process
- finish.py: test evaluation, report and final metrics (shared likewise)
- evaluation.py, report.py: the test-split numbers and their report
- telemetry.py: the run's Prometheus series
"""
