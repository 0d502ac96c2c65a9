"""Where and how each pipeline task runs: image, resources, GPU placement, retries, env.

Everything comes from the config's `pipeline` section
(glov.config.store_metrics_pipeline.PipelineConfig) and is compiled into the
pipeline YAML. Secrets are referenced by name only (use_secret_as_env), never
copied into the YAML.
"""

from __future__ import annotations

from typing import Literal

from kfp import kubernetes
from kfp.dsl import PipelineTask

from components import images
from glov.config import GlovConfig

# "models": the shared-models task; the LLM task's CPU and memory (it holds the
# LLM while converting it) but never a GPU: GGUF dequantisation and the
# build:// recipes' training run on the CPU.
TaskKind = Literal["cpu", "llm", "vlm", "models"]

# Keys of the S3 credentials Secret, exposed as env under the same names.
SECRET_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
# Keys of the defaults ConfigMap (manifests/base/defaults.env and the overlays)
# that the code in the pods reads from the environment. Optional: a missing key
# leaves the variable unset.
CONFIG_MAP_KEYS = (
    "GLOV_STORE_URI",
    "GLOV_CACHE_DIR",
    "GLOV_PUSHGATEWAY",
    "GLOV_S3_ENDPOINT",
    "GLOV_S3_SECURE",
    "GLOV_S3_REGION",
    "GLOV_S3_CA_BUNDLE",
    "AWS_ENDPOINT_URL",
)
POD_LABEL = ("app.kubernetes.io/part-of", "glov")
# Kueue's pod integration: the LocalQueue that admits a pod, and its priority.
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
KUEUE_PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"


# Thread-pool sizes of torch/OpenMP/MKL. Unset, torch starts one thread per core
# of the node (it does not see the pod's CPU share), and parallel pods oversubscribe.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def cpu_threads(quantity: str) -> int:
    """Whole CPUs in a Kubernetes CPU quantity ("500m" -> 1, "4" -> 4)."""
    cpus = float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)
    return max(1, int(cpus))


class Placement:
    """Applies the `pipeline` section of a config to tasks.

    `threads` overrides the per-task thread count (default: the task's CPU request).
    """

    def __init__(self, cfg: GlovConfig, threads: int | None = None):
        self.p = cfg.pipeline
        self.gpu_image = self.p.gpu_image or images.gpu_image()
        self.cpu_image = self.p.cpu_image or images.cpu_image()
        self.threads = threads

    def apply(
        self,
        task: PipelineTask,
        kind: TaskKind,
        display_name: str,
        *,
        image: Literal["gpu", "cpu"],
    ) -> PipelineTask:
        p = self.p
        res = {"cpu": p.cpu_task, "llm": p.llm_task, "vlm": p.vlm_task, "models": p.llm_task}[kind]
        task.set_display_name(display_name)
        task.set_container_image(self.gpu_image if image == "gpu" else self.cpu_image)
        task.set_cpu_request(res.cpu)
        task.set_memory_request(res.memory)
        # The shared models build on the CPU: a GPU neither requested nor queued for.
        gpu = res.accelerators > 0 and kind != "models"
        threads = str(self.threads or cpu_threads(res.cpu))
        for name in THREAD_ENV:
            task.set_env_variable(name, threads)
        if gpu:
            task.set_accelerator_type(p.accelerator_type)
            task.set_accelerator_limit(res.accelerators)
            for key, value in p.node_selector.items():
                kubernetes.add_node_selector(task, key, value)
            for t in p.tolerations:
                kubernetes.add_toleration(
                    task, key=t.key, operator=t.operator, value=t.value, effect=t.effect
                )
        if p.retries > 0:
            task.set_retry(
                num_retries=p.retries,
                backoff_duration=f"{p.backoff_seconds}s",
                backoff_factor=p.backoff_factor,
                backoff_max_duration=f"{p.backoff_max_seconds}s",
            )
        task.set_caching_options(enable_caching=p.caching)
        if p.s3_secret:
            kubernetes.use_secret_as_env(
                task, p.s3_secret, {k: k for k in SECRET_KEYS}, optional=True
            )
        if p.defaults_config_map:
            kubernetes.use_config_map_as_env(
                task, p.defaults_config_map, {k: k for k in CONFIG_MAP_KEYS}, optional=True
            )
        if p.cache_pvc:
            kubernetes.mount_pvc(task, pvc_name=p.cache_pvc, mount_path=p.cache_mount)
        kubernetes.add_pod_label(task, *POD_LABEL)
        self._queue(task, gpu=gpu)
        return task

    def _queue(self, task: PipelineTask, *, gpu: bool) -> None:
        """Kueue labels (pod metadata, fixed at compile time) on GPU tasks, or on all.

        No kueue.x-k8s.io/pod-group-name for the evaluation shards: a pod group
        needs one name per step, arm and run, but kfp's pod labels are constants
        compiled into the YAML (no placeholders), so every shard pod of every
        run would join one group (docs/deploy.md, "Kueue"). Each shard is
        admitted on its own; the shards do not need to run together.
        """
        kueue = self.p.kueue
        if not kueue.queue_name or not (gpu or kueue.all_pods):
            return
        kubernetes.add_pod_label(task, KUEUE_QUEUE_LABEL, kueue.queue_name)
        if kueue.priority_class:
            kubernetes.add_pod_label(task, KUEUE_PRIORITY_LABEL, kueue.priority_class)
