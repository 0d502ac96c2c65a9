"""The GlovRun operator: an optimisation run as a Kubernetes resource.

`python -m controller` (the operator's Deployment, manifests/base/operator/)
watches GlovRuns in one namespace, submits each to Kubeflow Pipelines once,
and writes the run's phase, step and best template into its status.

    spec.py       the GlovRun spec -> a submission (config, parameters, endpoint)
    kubeflow.py   the Kubeflow Pipelines calls (kfp.Client), errors with reasons
    progress.py   progress read from the run directory (steps per arm, report)
    status.py     phases and conditions
    reconcile.py  one reconciliation: submit once, follow, resume
    handlers.py   kopf handlers and settings
    main.py       the command line, metrics and liveness endpoints
"""
