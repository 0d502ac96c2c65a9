"""The optimiser: GLOV's search over prompt templates, free of storage and Kubeflow.

- arms.py: the independent optimisations of a run (alpha sweep, compared methods)
- history.py: the scored templates, ranked
- guidance.py: when to steer and towards which pair (p+, p-)
- state.py: an arm's state, replayed from its step records
- steering.py: the steering vectors of guidance pairs (layer resolved once)
- step.py: one step's stages: generate, evaluate, rank
- shards.py: evaluation split over pods, as counts that merge exactly

Running steps against a run directory (the loop, resume, metrics) is
glov.runs' job.
"""
