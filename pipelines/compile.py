"""Compile the GLOV pipeline of a plan (pipelines/plan.py, which keeps it within the
cluster's limits) into a KFP v2 pipeline YAML."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

from glov.config import config_to_yaml
from glov.os_errors import check_creatable, parents_made_for
from pipelines.plan import PipelinePlan


def compile_pipeline(
    plan: PipelinePlan,
    out_path: str | Path,
    *,
    kubernetes: bool = False,
    namespace: str | None = None,
) -> Path:
    """Write the pipeline YAML of `plan` (run parameters default to its config's values).

    With `kubernetes`, write Kubeflow's Kubernetes-native `Pipeline` and
    `PipelineVersion` resources instead (KFP's Kubernetes API mode), for a team
    that keeps the pipeline in Git; the version is named after the config's
    hash, so a changed config is a new PipelineVersion, never an edited one.
    """
    from kfp import compiler

    from pipelines.glov_pipeline import build_pipeline, pipeline_name

    # plan_pipeline refused a config the cluster would refuse, before this is called.
    cfg = plan.cfg
    out = Path(out_path)
    check_creatable(out, "file")
    with parents_made_for(out), warnings.catch_warnings():
        # kfp warns that Python 3.9-era typing is deprecated etc.; not actionable here.
        warnings.simplefilter("ignore", FutureWarning)
        extra = {}
        if kubernetes:
            name = pipeline_name(cfg)
            digest = hashlib.sha256(config_to_yaml(cfg).encode()).hexdigest()[:10]
            extra = {
                "kubernetes_manifest_format": True,
                "kubernetes_manifest_options": compiler.KubernetesManifestOptions(
                    pipeline_name=name,
                    pipeline_version_name=f"{name}-{digest}",
                    namespace=namespace,
                    include_pipeline_manifest=True,
                ),
            }
        compiler.Compiler().compile(
            pipeline_func=build_pipeline(plan), package_path=str(out), **extra
        )
    return out
