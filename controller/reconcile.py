"""One reconciliation of a GlovRun: submit once, follow the Kubeflow run, resume.

Everything here is synchronous (kfp.Client is); kopf runs it in a thread.
`Reconciler.reconcile` takes the object as the API server last showed it and
returns the status patch and the Events to post; it never raises for Kubeflow
or store errors (they become conditions) and never touches `spec`.

Failed Kubeflow calls back off (backoff.py): while status.nextAttemptTime
lies ahead a reconciliation calls nothing; a permanent refusal stops after a
few tries until the spec changes or the resume annotation gets a new value.

Submitting exactly once: the Kubeflow run's display name is deterministic
(the run id, `<run id>-resume-<n>` for the n-th resume), and a run with that
name is looked up before one is created. A controller that dies between
creating the run and writing status.kubeflowRunId adopts the run when it
comes back instead of starting a second one.
"""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass, field
from typing import Any

from controller.backoff import Backoff, waiting
from controller.kubeflow import RUN_GONE, Clients, KubeflowError, PackageCache
from controller.metrics import OperatorMetrics
from controller.progress import StoreError, read_progress
from controller.spec import RESUME_ANNOTATION, RunSpec, SpecError, parse_spec
from controller.status import (
    CANCELED,
    FAILED,
    FINISHED,
    INVALID,
    PENDING,
    PHASE_OF_STATE,
    RESUMABLE,
    RUNNING,
    SUCCEEDED,
    StatusUpdate,
    now,
    ready,
)
from pipelines.kfp_auth import KfpAuth
from pipelines.submit import submit_request


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass
class Outcome:
    # Status fields that changed (None: remove) and conditions that changed
    # (status.apply_status merges them into the stored object).
    status: dict[str, Any]
    conditions: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class Submitted:
    name: str
    run_id: str
    endpoint: str
    namespace: str | None
    adopted: bool = False  # found in Kubeflow by name, not created by this process


def kfp_run_name(run_id: str, attempt: int) -> str:
    return run_id if attempt == 0 else f"{run_id}-resume-{attempt}"


def needs_polling(status: dict[str, Any], annotations: dict[str, Any]) -> bool:
    """Whether the poll timer has anything to do: a resume (or retry) was asked
    for, or a run goes on. Not for a finished run, nor for one whose permanent
    refusal used up its tries (until a spec edit or a new resume value)."""
    token = annotations.get(RESUME_ANNOTATION)
    if token and token not in (status.get("resumeToken"), status.get("backoffToken")):
        return True
    return status.get("phase") not in FINISHED and not status.get("gaveUp")


class Reconciler:
    def __init__(
        self,
        metrics: OperatorMetrics,
        packages: PackageCache | None = None,
        *,
        auth: KfpAuth | None = None,
        backoff: Backoff | None = None,
    ):
        self.metrics = metrics
        self.clients = Clients(auth)
        self.backoff = backoff or Backoff()
        self.packages = packages or PackageCache()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        # uid -> (Kubeflow run name, id) submitted by this process: the status
        # a timer sees can predate the create handler's patch.
        self._submitted: dict[str, Submitted] = {}

    def _lock(self, uid: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(uid, threading.Lock())

    def known_run(self, uid: str) -> Submitted | None:
        """The run this process submitted last (waits for a submission in flight)."""
        with self._lock(uid):
            return self._submitted.get(uid)

    def forget(self, uid: str) -> None:
        with self._locks_guard:
            self._locks.pop(uid, None)
            self._submitted.pop(uid, None)

    # -- entry point ----------------------------------------------------------
    def reconcile(self, body: dict[str, Any]) -> Outcome:
        meta = body["metadata"]
        with self._lock(meta["uid"]):
            upd = StatusUpdate(body.get("status"), meta.get("generation"))
            events: list[Event] = []
            self._reconcile(body, upd, events)
            status, reason, message = ready(upd)
            upd.condition("Ready", status, reason, message)
            fields, conditions = upd.changes()
            return Outcome(fields, conditions, events)

    def _reconcile(self, body: dict[str, Any], upd: StatusUpdate, events: list[Event]) -> None:
        meta = body["metadata"]
        token = (meta.get("annotations") or {}).get(RESUME_ANNOTATION)
        moved = upd.get("observedGeneration") not in (None, meta.get("generation"))
        acted = moved or (bool(token) and token != upd.get("backoffToken"))
        if upd.get("failedAttempts") and acted:
            # Someone acted on a refusal (a spec edit, a new resume value): try at
            # once, with a fresh count.
            self._clear_backoff(upd)
            if token and not upd.get("kubeflowRunId"):
                upd.set(resumeToken=token)  # spent on this retry, not on a later resume
        elif upd.get("gaveUp") or waiting(upd.get("nextAttemptTime"), _utcnow()):
            return
        if not upd.get("kubeflowRunId"):
            self._start(body, upd, events)
        else:
            self._check_spec_change(upd, events)
            if upd.get("phase") not in FINISHED:
                self._follow(body, upd, events)
            else:
                self._maybe_resume(body, upd, events)
        if upd.get("failedAttempts"):
            upd.set(backoffToken=token)  # the annotation value these failures happened under

    # -- backoff ------------------------------------------------------------------
    def _failed(self, upd: StatusUpdate, exc: KubeflowError) -> str:
        """Count a failed call; the sentence the condition message ends with."""
        failures = int(upd.get("failedAttempts") or 0) + 1
        upd.set(failedAttempts=failures)
        if self.backoff.gives_up(failures, exc.permanent):
            upd.set(gaveUp=True, nextAttemptTime=None)
            return (
                f" Gave up after {failures} attempts: fix it, then edit the spec or annotate "
                f"{RESUME_ANNOTATION}=<any new value> to try again."
            )
        upd.set(nextAttemptTime=self.backoff.next_attempt(failures, _utcnow()))
        return f" Attempt {failures}; the next one not before {upd.get('nextAttemptTime')}."

    @staticmethod
    def _clear_backoff(upd: StatusUpdate) -> None:
        upd.set(failedAttempts=None, nextAttemptTime=None, gaveUp=None, backoffToken=None)

    # -- before the first submission --------------------------------------------
    def _start(self, body: dict[str, Any], upd: StatusUpdate, events: list[Event]) -> None:
        meta = body["metadata"]
        generation = meta.get("generation")
        if upd.get("phase") == INVALID and upd.get("observedGeneration") == generation:
            return  # nothing new to check until the spec changes
        try:
            run = parse_spec(body.get("spec") or {}, name=meta["name"], uid=meta["uid"])
        except SpecError as exc:
            upd.set(phase=INVALID, observedGeneration=generation, message=str(exc))
            upd.condition("Accepted", False, "InvalidSpec", str(exc))
            events.append(Event("Warning", "InvalidSpec", str(exc)))
            return
        upd.condition("Accepted", True, "SpecValid", "the spec is valid")
        upd.set(
            observedGeneration=generation,
            submittedGeneration=generation,
            runId=run.run_id,
            runDirectory=f"{run.store_uri.rstrip('/')}/{run.run_id}",
            storeUri=run.store_uri,
            totalSteps=run.cfg.search.steps,
            attempt=0,
        )
        if not self._submit(meta["uid"], run, 0, upd, events):
            upd.set(phase=PENDING)  # retried on the next poll

    def _submit(
        self, uid: str, run: RunSpec, attempt: int, upd: StatusUpdate, events: list[Event]
    ) -> bool:
        name = kfp_run_name(run.run_id, attempt)
        kubeflow = self.clients.get(run.endpoint, run.kubeflow_namespace)
        known = self._submitted.get(uid)
        try:
            if known and known.name == name:
                # This process created or adopted it; the status it was written to is not
                # in `upd` yet (a timer's view can predate the create handler's write).
                run_id, how = known.run_id, "recorded"
            else:
                found = kubeflow.find_run(name)
                if found is not None:
                    run_id, how = found.run_id, "adopted"
                else:
                    package = self.packages.package(run.plan)
                    request = submit_request(
                        run.cfg,
                        package,
                        experiment=run.experiment,
                        run_name=name,
                        params=run.arguments(),
                        namespace=run.kubeflow_namespace,
                    )
                    spec = self.packages.pipeline_spec(package)
                    run_id, how = kubeflow.submit(request, spec), "created"
        except KubeflowError as exc:
            self.metrics.kubeflow_requests.labels("submit", exc.reason).inc()
            before = upd.condition_of("Submitted") or {}
            if (before.get("status"), before.get("reason")) != ("False", exc.reason):
                events.append(Event("Warning", exc.reason, exc.problem))
            upd.condition("Submitted", False, exc.reason, str(exc) + self._failed(upd, exc))
            upd.set(message=exc.problem)
            return False
        self._clear_backoff(upd)
        if not upd.get("startTime"):
            upd.set(startTime=now())
        adopted = how == "adopted" or (how == "recorded" and known is not None and known.adopted)
        self._submitted[uid] = Submitted(
            name, run_id, run.endpoint, run.kubeflow_namespace, adopted=adopted
        )
        if how != "recorded":
            self.metrics.kubeflow_requests.labels("submit", "ok").inc()
            self.metrics.submissions.labels(how).inc()
        upd.set(
            phase=RUNNING,
            kubeflowRunId=run_id,
            kubeflowRunName=name,
            kubeflowState="PENDING",
            endpoint=run.endpoint,
            kubeflowNamespace=run.kubeflow_namespace or "",
            message=f"Kubeflow run {name} ({run_id})",
        )
        reason = "RunAdopted" if adopted else "RunCreated"
        upd.condition("Submitted", True, reason, f"Kubeflow run {name} has id {run_id}")
        if how != "recorded":
            events.append(Event("Normal", reason, f"Kubeflow run {name} ({run_id})"))
        return True

    # -- while a run is known ---------------------------------------------------
    def _check_spec_change(self, upd: StatusUpdate, events: list[Event]) -> None:
        """A spec edited after submission is not applied: the run keeps its spec."""
        generation = upd.generation
        submitted = upd.get("submittedGeneration")
        if generation is None or submitted is None or generation == submitted:
            return
        message = (
            f"the spec changed (generation {generation}) after Kubeflow run "
            f"{upd.get('kubeflowRunName')} started from generation {submitted}; the change "
            "is not applied. Create a new GlovRun for a new run (resume keeps this spec)."
        )
        before = upd.condition_of("SpecApplied")
        upd.condition("SpecApplied", False, "SpecChangeRefused", message)
        upd.set(observedGeneration=generation)
        if before is None or before.get("observedGeneration") != generation:
            events.append(Event("Warning", "SpecChangeRefused", message))

    def _follow(self, body: dict[str, Any], upd: StatusUpdate, events: list[Event]) -> None:
        kubeflow = self.clients.get(upd.get("endpoint"), upd.get("kubeflowNamespace") or None)
        try:
            run = kubeflow.get_run(upd.get("kubeflowRunId"))
        except KubeflowError as exc:
            self.metrics.kubeflow_requests.labels("get", exc.reason).inc()
            if exc.reason == RUN_GONE:
                self._gone(upd, events, exc)
                return
            if (upd.condition_of("KubeflowReachable") or {}).get("status") != "False":
                events.append(Event("Warning", exc.reason, exc.problem))
            upd.condition("KubeflowReachable", False, exc.reason, str(exc) + self._failed(upd, exc))
            return
        self._clear_backoff(upd)
        self.metrics.kubeflow_requests.labels("get", "ok").inc()
        upd.condition("KubeflowReachable", True, "RunFound", f"Kubeflow run state {run.state}")
        upd.set(kubeflowState=run.state)
        self._read_progress(body, upd)
        if not run.finished:
            upd.set(phase=RUNNING)
            return
        phase = PHASE_OF_STATE[run.state]
        self.metrics.finished.labels(phase).inc()
        name = upd.get("kubeflowRunName")
        if phase == SUCCEEDED:
            message = f"Kubeflow run {name} succeeded"
            upd.condition("Succeeded", True, "RunSucceeded", message)
            events.append(Event("Normal", "RunSucceeded", message))
        else:
            reason = "RunFailed" if phase == FAILED else "RunCanceled"
            detail = f": {run.error}" if run.error else ""
            message = (
                f"Kubeflow run {name} ended {run.state}{detail}; annotate the GlovRun with "
                f"{RESUME_ANNOTATION}=<any new value> to resume it (finished steps are reused)"
            )
            upd.condition("Succeeded", False, reason, message)
            events.append(Event("Warning", reason, message))
        upd.set(phase=phase, message=upd.condition_of("Succeeded")["message"], completionTime=now())

    def _gone(self, upd: StatusUpdate, events: list[Event], exc: KubeflowError) -> None:
        """The followed Kubeflow run was deleted: the GlovRun ends Canceled, resumable."""
        self.metrics.finished.labels(CANCELED).inc()
        upd.condition("KubeflowReachable", True, "RunDeleted", exc.problem)
        message = f"{exc.problem}; {exc.fix}"
        upd.condition("Succeeded", False, RUN_GONE, message)
        events.append(Event("Warning", RUN_GONE, message))
        upd.set(phase=CANCELED, kubeflowState="DELETED", message=message, completionTime=now())

    def _read_progress(self, body: dict[str, Any], upd: StatusUpdate) -> None:
        try:
            progress = read_progress(upd.get("storeUri"), upd.get("runId"), upd.get("totalSteps"))
        except StoreError as exc:
            upd.condition("ProgressAvailable", False, "StoreUnavailable", str(exc))
            return
        if progress.problems:
            # What the records before the damage say is still shown below.
            message = " | ".join(progress.problems)
            upd.condition("ProgressAvailable", False, "RecordDamaged", message)
        else:
            upd.condition("ProgressAvailable", True, "RunDirectoryRead", upd.get("runDirectory"))
        upd.set(step=progress.step, steps=progress.steps)
        if progress.best_fitness is not None:
            upd.set(
                bestFitness=progress.best_fitness,
                bestTemplate=progress.best_template,
                bestArm=progress.best_arm,
            )
            meta = body["metadata"]
            self.metrics.best_fitness.labels(meta.get("namespace", ""), meta["name"]).set(
                progress.best_fitness
            )
        if progress.report_uri:
            upd.set(reportUri=progress.report_uri)

    # -- after the run ended ----------------------------------------------------
    def _maybe_resume(self, body: dict[str, Any], upd: StatusUpdate, events: list[Event]) -> None:
        meta = body["metadata"]
        token = (meta.get("annotations") or {}).get(RESUME_ANNOTATION)
        if not token or token == upd.get("resumeToken"):
            return
        if upd.get("phase") not in RESUMABLE:
            upd.set(resumeToken=token)
            message = f"{RESUME_ANNOTATION}={token} ignored: the run is {upd.get('phase')}"
            events.append(Event("Normal", "ResumeIgnored", message))
            return
        try:
            run = parse_spec(body.get("spec") or {}, name=meta["name"], uid=meta["uid"])
        except SpecError as exc:
            upd.set(resumeToken=token)
            events.append(Event("Warning", "InvalidSpec", str(exc)))
            upd.condition("Accepted", False, "InvalidSpec", str(exc))
            return
        # The run directory of the first submission, whatever the spec now says.
        run = RunSpec(
            **{**run.__dict__, "run_id": upd.get("runId"), "store_uri": upd.get("storeUri")}
        )
        attempt = int(upd.get("attempt") or 0) + 1
        # On a Kubeflow error the token stays unrecorded: the next poll tries again.
        if self._submit(meta["uid"], run, attempt, upd, events):
            upd.set(
                attempt=attempt, resumeToken=token, kubeflowState="PENDING", completionTime=None
            )
            upd.condition("Succeeded", None, "Resumed", f"resumed as attempt {attempt}")


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
