"""Config sections for the deployment side: object store, metrics, pipeline.

Kept apart from config.py so the core search settings stay readable; each
section is owned by the module that uses it (glov.store, glov.metrics,
pipelines/).
"""

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StoreConfig(_Section):
    # Where runs and caches live: file://PATH (embedded default) or s3://BUCKET/PREFIX.
    uri: str = "file://runs"


class MetricsConfig(_Section):
    # host:port of a Prometheus Pushgateway; null disables pushing.
    pushgateway: str | None = None
    timeout_seconds: float = Field(2.0, gt=0)


class PipelineConfig(_Section):
    # Generate/evaluate/rank of this many steps share one pod (model load once).
    steps_per_pod: int = Field(1, ge=1)
