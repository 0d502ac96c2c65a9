"""Config sections for the deployment side: object store, metrics, pipeline.

Kept apart from schema.py so the core search settings stay readable; each
section is owned by the module that uses it (glov.store, glov.metrics,
pipelines/).
"""

import os

from pydantic import Field, model_validator

from glov.config.section import Section

PUSHGATEWAY_ENV = "GLOV_PUSHGATEWAY"


class StoreConfig(Section):
    # Where runs and caches live: file://PATH (embedded default) or s3://BUCKET/PREFIX.
    uri: str = "file://runs"
    # s3:// only. Transient failures (connection refused/reset, timeouts, 5xx,
    # SlowDown) are retried with exponential backoff and jitter. One call gives
    # up after at most retry_attempts tries, i.e. within about
    # retry_attempts * timeout_seconds + the sum of the backoff delays (each
    # <= retry_max_seconds). The defaults wait 8-16 s in total: enough to ride out
    # an object-store pod restart, short enough to fail a step clearly.
    retry_attempts: int = Field(8, ge=1, le=50)
    retry_base_seconds: float = Field(0.25, gt=0, le=60)
    retry_max_seconds: float = Field(4.0, gt=0, le=300)
    # Connect/read timeout of one HTTP request to the object store.
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    # Objects larger than this are uploaded in parts (multipart); S3's minimum is 5 MiB.
    part_size_mib: int = Field(16, ge=5, le=5120)
    # A missing bucket is an error by default (buckets are provisioned with the
    # cluster, and creating them needs broader rights); true creates it on first use.
    create_bucket: bool = False
    # Local cache for models/datasets fetched from s3:// (per pod), LRU-evicted above the limit.
    cache_dir: str = "/tmp/glov-remote-cache"
    cache_max_gib: float = Field(20.0, gt=0)


class MetricsConfig(Section):
    # host:port (or http://host:port) of a Prometheus Pushgateway; null falls
    # back to $GLOV_PUSHGATEWAY (set by the pipeline pods), and without that
    # pushing is off.
    pushgateway: str | None = None
    # Hard bound on one push: a slow or dead gateway must never stall a step.
    timeout_seconds: float = Field(2.0, gt=0, le=60)
    # The `job` of the Pushgateway grouping key {job, run, arm}.
    job: str = Field("glov", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    # The Pushgateway never expires groups; every run deletes, when it starts
    # and ends, the groups of its job that finished this long ago (Prometheus
    # has scraped their final values many times by then) ...
    finished_ttl_seconds: float = Field(3600.0, ge=0)
    # ... or that nothing pushed to for this long (a run that died, which the
    # GlovRunStalled alert has reported meanwhile).
    abandoned_ttl_seconds: float = Field(86400.0, gt=0)

    def gateway(self) -> str | None:
        """The gateway to push to: the config's, else $GLOV_PUSHGATEWAY, else None.

        Read at use time (not baked into the config) so a saved run config
        replayed elsewhere does not push to the gateway of the machine it came from.
        """
        if self.pushgateway:
            return self.pushgateway
        return os.environ.get(PUSHGATEWAY_ENV) or None


# Kubernetes quantities as kfp accepts them (a number, millicores; binary/decimal suffixes).
_CPU_QUANTITY = r"^([0-9]*[.])?[0-9]+m?$"
_MEMORY_QUANTITY = r"^[0-9]+([.][0-9]+)?(E|P|T|G|M|k|K|Ei|Pi|Ti|Gi|Mi|Ki)?$"
# A Kubernetes object name (Secret, ConfigMap, PVC, ServiceAccount): DNS-1123 subdomain.
_K8S_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


class TaskResources(Section):
    """Requests of one kind of pipeline task (pipelines/ applies them at compile time)."""

    cpu: str = Field("500m", pattern=_CPU_QUANTITY)
    memory: str = Field("1Gi", pattern=_MEMORY_QUANTITY)
    # Accelerators of pipeline.accelerator_type per pod; 0 runs the task without
    # one (then no GPU node selector or tolerations either).
    accelerators: int = Field(0, ge=0, le=16)


# One class per task kind so that overriding one field (pipeline.llm_task.memory=40Gi)
# keeps that kind's other defaults.
class LLMTaskResources(TaskResources):
    cpu: str = Field("4", pattern=_CPU_QUANTITY)
    memory: str = Field("32Gi", pattern=_MEMORY_QUANTITY)
    accelerators: int = Field(1, ge=0, le=16)


class VLMTaskResources(TaskResources):
    cpu: str = Field("4", pattern=_CPU_QUANTITY)
    memory: str = Field("16Gi", pattern=_MEMORY_QUANTITY)
    accelerators: int = Field(1, ge=0, le=16)


class Toleration(Section):
    """A pod toleration, as in the Kubernetes PodSpec."""

    key: str | None = None
    operator: str = Field("Equal", pattern=r"^(Equal|Exists)$")
    value: str | None = None
    effect: str | None = Field(None, pattern=r"^(NoSchedule|PreferNoSchedule|NoExecute)$")


def _gpu_tolerations() -> list[Toleration]:
    return [Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")]


# A Kubernetes label value that names an object: DNS-1123 label (LocalQueue) or
# subdomain (WorkloadPriorityClass), at most 63 characters (the label limit).
_K8S_LABEL_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_K8S_LABEL_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"


class KueueConfig(Section):
    """Kueue admission of the pipeline's pods (Kueue's pod integration).

    Compiled into the tasks as pod labels: kueue.x-k8s.io/queue-name and
    kueue.x-k8s.io/priority-class. A labelled pod waits, scheduling-gated,
    until its LocalQueue's ClusterQueue has quota (manifests/overlays/kueue).
    """

    # LocalQueue in the namespace the pipeline runs in; null: pods are not queued.
    queue_name: str | None = Field(None, pattern=_K8S_LABEL_NAME, max_length=63)
    # WorkloadPriorityClass of the queued pods (Kueue's ordering and preemption).
    priority_class: str | None = Field(None, pattern=_K8S_LABEL_SUBDOMAIN, max_length=63)
    # False: only the tasks that request an accelerator are queued (the GPU quota
    # is what teams share; CPU steps start at once). True: every task.
    all_pods: bool = False

    @model_validator(mode="after")
    def _priority_needs_a_queue(self) -> "KueueConfig":
        if self.priority_class and not self.queue_name:
            raise ValueError(
                "pipeline.kueue.priority_class needs pipeline.kueue.queue_name: Kueue "
                "only admits (and orders) pods that name a queue"
            )
        return self


class PipelineConfig(Section):
    """How the Kubeflow pipeline is compiled: pod grouping, images, placement, retries.

    Structural settings (search.steps, steps_per_pod) shape the DAG; the rest
    is compiled into each task. Defaults match manifests/base/defaults.env.
    """

    # Generate/evaluate/rank of this many steps share one pod (models load once).
    # 1 gives one sub-DAG per step with separate generate, evaluate and rank pods.
    steps_per_pod: int = Field(1, ge=1)
    # VLM evaluation split over this many GPU pods in parallel, each scoring the
    # images i with i % eval_shards == shard; the counts merge to exactly the
    # unsharded accuracies. With steps_per_pod = 1 every step's evaluate and the
    # final test evaluation are sharded; fused pods (steps_per_pod > 1) evaluate
    # their steps inside the pod, so only the final test evaluation is sharded.
    eval_shards: int = Field(1, ge=1, le=64)
    # Container images; null takes components.images.gpu_image() / cpu_image() ($REGISTRY).
    gpu_image: str | None = None
    cpu_image: str | None = None
    # Extended resource name of the accelerator the LLM/VLM tasks request.
    accelerator_type: str = Field("nvidia.com/gpu", min_length=1)
    # generate and the fused steps (LLM + VLM in one pod) use llm_task; evaluate and
    # final use vlm_task; data prep, rank and the seed's generate use cpu_task.
    llm_task: LLMTaskResources = Field(default_factory=LLMTaskResources)
    vlm_task: VLMTaskResources = Field(default_factory=VLMTaskResources)
    cpu_task: TaskResources = Field(default_factory=TaskResources)
    # Node selector and tolerations of the tasks that request an accelerator.
    node_selector: dict[str, str] = Field(
        default_factory=lambda: {"nvidia.com/gpu.present": "true"}
    )
    tolerations: list[Toleration] = Field(default_factory=_gpu_tolerations)
    # Every task is retried this often, after backoff_seconds * backoff_factor**i.
    # Retries are safe: a step whose record is in the run directory is reused.
    retries: int = Field(2, ge=0, le=10)
    backoff_seconds: int = Field(30, ge=0)
    backoff_factor: float = Field(2.0, ge=1.0)
    backoff_max_seconds: int = Field(3600, ge=1)
    # KFP caching of task results. Off by default: the run directory already makes
    # re-runs resume, and a cached task would skip writing to a new run directory.
    caching: bool = False
    # Experiment and service account `glov submit` uses.
    experiment: str = Field("glov", min_length=1)
    service_account: str | None = Field("glov-pipeline", pattern=_K8S_NAME)
    # Secret with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, exposed as env to every
    # task (never written into the pipeline YAML); null for no object store.
    s3_secret: str | None = Field("glov-s3", pattern=_K8S_NAME)
    # ConfigMap whose endpoint/bucket/pushgateway keys become task env (optional keys).
    defaults_config_map: str | None = Field("glov-defaults", pattern=_K8S_NAME)
    # PVC with the model/dataset/feature cache, mounted in every task; null for none.
    cache_pvc: str | None = Field("glov-model-cache", pattern=_K8S_NAME)
    cache_mount: str = Field("/cache", pattern=r"^/")
    # At most this many arms (alphas, compared methods) run at once; 0: no limit.
    parallel_arms: int = Field(0, ge=0)
    # Kueue queue and priority of the GPU tasks (or all tasks).
    kueue: KueueConfig = Field(default_factory=KueueConfig)
