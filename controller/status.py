"""The GlovRun status: phases and Kubernetes-style conditions.

Phases (status.phase; the Argo CD health check in manifests/README.md maps them):
    Pending    accepted, no Kubeflow run yet (submitting, or Kubeflow unreachable)
    Running    a Kubeflow run exists and has not finished
    Succeeded  the Kubeflow run succeeded
    Failed     the Kubeflow run failed (resumable: see RESUME_ANNOTATION)
    Canceled   the Kubeflow run was terminated outside the controller (resumable)
    Invalid    the spec cannot run; the Accepted condition names the field

Condition types: Accepted (the spec), Submitted (the Kubeflow run),
Succeeded (the outcome), ProgressAvailable (the run directory: False with
reason RecordDamaged names a damaged record, file and line), SpecApplied
(a spec edit after submission is not applied), KubeflowReachable (following
the run), and Ready, which sums them up for `kubectl get` and Argo CD: True
while a run goes on or after it succeeded, False with the reason that blocks
it (InvalidSpec, KubeflowUnauthorized, KubeflowForbidden, RunFailed,
SpecChangeRefused, ...), Unknown while the first submission is on its way.

Writes: `apply_status` applies one reconciliation's changes to the object as
the API server holds it at write time (kopf sends the difference as a JSON
patch that tests the resourceVersion, and re-applies it to the newer object on
a conflict). Conditions are merged by type, so a write never drops a condition
that another write added meanwhile.
"""

from __future__ import annotations

import datetime
from typing import Any

PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED, INVALID = (
    "Pending",
    "Running",
    "Succeeded",
    "Failed",
    "Canceled",
    "Invalid",
)
RESUMABLE = {FAILED, CANCELED}
FINISHED = {SUCCEEDED, FAILED, CANCELED, INVALID}
# Kubeflow run state -> phase.
PHASE_OF_STATE = {
    "SUCCEEDED": SUCCEEDED,
    "SKIPPED": SUCCEEDED,
    "FAILED": FAILED,
    "CANCELED": CANCELED,
}


# Times in the status, as Kubernetes writes them (RFC 3339, whole seconds, UTC).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime(TIME_FORMAT)


def set_condition(
    conditions: list[dict[str, Any]],
    type_: str,
    status: bool | None,
    reason: str,
    message: str,
    generation: int | None,
) -> list[dict[str, Any]]:
    """`conditions` with `type_` set; lastTransitionTime moves only when status flips.

    Returns a new list: the status patch replaces the whole list (lists are not
    merged by a merge patch).
    """
    value = "Unknown" if status is None else "True" if status else "False"
    old = next((c for c in conditions if c.get("type") == type_), None)
    changed = old is None or old.get("status") != value
    new = {
        "type": type_,
        "status": value,
        "reason": reason,
        # The API rejects messages over 32768 bytes; ours are short, Kubeflow's may not be.
        "message": message[:4000],
        "lastTransitionTime": now() if changed else old.get("lastTransitionTime", now()),
    }
    if generation is not None:
        new["observedGeneration"] = generation
    return [c for c in conditions if c.get("type") != type_] + [new]


class StatusUpdate:
    """Collects one handler's status changes over the status it started from."""

    def __init__(self, status: dict[str, Any] | None, generation: int | None):
        self.old = dict(status or {})
        self.generation = generation
        self.fields: dict[str, Any] = {}
        self._conditions = list(self.old.get("conditions") or [])

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, self.old.get(key, default))

    def set(self, **fields: Any) -> None:
        self.fields.update(fields)

    def condition(self, type_: str, status: bool | None, reason: str, message: str) -> None:
        self._conditions = set_condition(
            self._conditions, type_, status, reason, message, self.generation
        )

    def condition_of(self, type_: str) -> dict[str, Any] | None:
        return next((c for c in self._conditions if c.get("type") == type_), None)

    def changes(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(fields that changed, None to remove; conditions that changed): a poll that
        learns nothing writes nothing."""
        fields = {k: v for k, v in self.fields.items() if self.old.get(k) != v}
        before = {c.get("type"): c for c in self.old.get("conditions") or []}
        conditions = [c for c in self._conditions if before.get(c["type"]) != c]
        return fields, conditions


def apply_status(body: dict[str, Any], fields: dict[str, Any], conditions: list[dict]) -> None:
    """Apply one reconciliation's changes to `body` (the object as stored now), in place."""
    status = body.setdefault("status", {})
    for key, value in fields.items():
        if value is None:
            status.pop(key, None)
        else:
            status[key] = value
    if not conditions:
        return
    current = list(status.get("conditions") or [])
    for new in conditions:
        old = next((c for c in current if c.get("type") == new["type"]), None)
        if old is not None and old.get("status") == new["status"]:
            new = {
                **new,
                "lastTransitionTime": old.get("lastTransitionTime", new["lastTransitionTime"]),
            }
        current = [c for c in current if c.get("type") != new["type"]] + [new]
    status["conditions"] = current


def ready(upd: StatusUpdate) -> tuple[bool | None, str, str]:
    """The Ready condition (status, reason, message) the other conditions add up to."""
    phase = upd.get("phase")

    def cond(type_: str) -> dict[str, Any]:
        return upd.condition_of(type_) or {}

    if phase == INVALID:
        return False, "InvalidSpec", cond("Accepted").get("message", "the spec is invalid")
    if phase == SUCCEEDED:
        return True, "RunSucceeded", cond("Succeeded").get("message", "succeeded")
    if phase in (FAILED, CANCELED):
        done = cond("Succeeded")
        return False, done.get("reason", phase), done.get("message", phase)
    refused = cond("SpecApplied")
    if refused.get("status") == "False":
        return False, refused.get("reason", "SpecChangeRefused"), refused.get("message", "")
    if phase == RUNNING:
        reach = cond("KubeflowReachable")
        if reach.get("status") == "False":
            return False, reach.get("reason", "KubeflowUnavailable"), reach.get("message", "")
        state = upd.get("kubeflowState") or "PENDING"
        return True, "RunInProgress", f"Kubeflow run {upd.get('kubeflowRunName')} is {state}"
    submitted = cond("Submitted")
    if submitted.get("status") == "False":
        return False, submitted.get("reason", "NotSubmitted"), submitted.get("message", "")
    return None, "Submitting", "the Kubeflow run is being submitted"
