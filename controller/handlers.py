"""kopf wiring: which events of a GlovRun call the Reconciler, and how results are written.

- create, a spec edit, and a timer every `poll_interval` seconds all reconcile
  (reconcile.py): submit once, follow the Kubeflow run, pick up a resume. The
  timer runs only while there is something to do (reconcile.needs_polling):
  not for a finished run or one whose refusal used up its tries, until the
  resume annotation gets a new value (kopf re-evaluates the filter on every
  change of the object; a handler on the annotation itself would never fire,
  as kopf leaves annotations of its own prefix, glov.dev/, out of its diffs);
- delete terminates a Kubeflow run that has not finished (kopf's finalizer
  holds the object until then); after `delete_retries` failed attempts the
  object is released anyway with a Warning Event, so a lost Kubeflow cannot
  pin a resource forever.

The handlers are synchronous (kopf runs them in threads) and write only the
status subresource, the finalizer and kopf's annotations: never `spec`. Status
goes out as a function of the stored object (status.apply_status), which kopf
sends as a JSON patch guarded by the resourceVersion, never as a merge patch
that would replace the conditions list from an older view.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from controller.kubeflow import KubeflowError
from controller.reconcile import Outcome, Reconciler, needs_polling
from controller.spec import GROUP, PLURAL, VERSION
from controller.status import FINISHED, apply_status


def operator_settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    # kopf's bookkeeping in annotations, not in status: the CRD's status schema
    # is structural and holds only the GlovRun's own fields.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # No cluster-wide watch of CRDs and namespaces: the Role is namespaced.
    settings.scanning.disabled = True
    # Events are ours (Submitted, RunSucceeded, ...); kopf's "handler succeeded"
    # messages would only bury them.
    settings.posting.level = logging.WARNING
    return settings


def _write(outcome: Outcome, body: Any, patch: kopf.Patch) -> None:
    if outcome.status or outcome.conditions:
        patch.fns.append(lambda raw: apply_status(raw, outcome.status, outcome.conditions))
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


def register(
    registry: kopf.OperatorRegistry,
    reconciler: Reconciler,
    *,
    poll_interval: float = 15.0,
    delete_retries: int = 3,
    retry_delay: float = 10.0,
) -> None:
    def reconcile(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        _write(reconciler.reconcile(body), body, patch)

    def polled(status: kopf.Status, annotations: kopf.Annotations, **_: Any) -> bool:
        return needs_polling(dict(status), dict(annotations))

    kopf.on.create(GROUP, VERSION, PLURAL, registry=registry, id="submit")(reconcile)
    kopf.on.update(GROUP, VERSION, PLURAL, field="spec", registry=registry, id="spec")(reconcile)
    # The first tick waits a period: the create handler submits first.
    kopf.timer(
        GROUP,
        VERSION,
        PLURAL,
        interval=poll_interval,
        initial_delay=poll_interval,
        when=polled,
        registry=registry,
        id="poll",
    )(reconcile)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, id="terminate")
    def terminate(body: kopf.Body, retry: int, **_: Any) -> None:
        meta, status = body["metadata"], body.get("status") or {}
        run_id, endpoint = status.get("kubeflowRunId"), status.get("endpoint")
        namespace = status.get("kubeflowNamespace") or None
        known = reconciler.known_run(meta["uid"])
        if known is not None and not run_id:  # submitted, status not written yet
            run_id, endpoint, namespace = known.run_id, known.endpoint, known.namespace
        reconciler.metrics.forget(meta.get("namespace", ""), meta["name"])
        if not run_id or status.get("phase") in FINISHED:
            reconciler.forget(meta["uid"])
            return
        kubeflow = reconciler.clients.get(endpoint, namespace)
        try:
            kubeflow.terminate(run_id)
        except KubeflowError as exc:
            reconciler.metrics.kubeflow_requests.labels("terminate", exc.reason).inc()
            if retry < delete_retries:
                raise kopf.TemporaryError(str(exc), delay=retry_delay) from exc
            kopf.warn(
                body,
                reason="TerminateAbandoned",
                message=f"{exc.problem}; released after {retry + 1} attempts: "
                f"stop Kubeflow run {run_id} by hand",
            )
        else:
            reconciler.metrics.kubeflow_requests.labels("terminate", "ok").inc()
            message = f"terminated Kubeflow run {run_id}"
            kopf.event(body, type="Normal", reason="RunTerminated", message=message)
        reconciler.forget(meta["uid"])
