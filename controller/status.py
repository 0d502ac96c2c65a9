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
(a spec edit after submission is not applied).
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


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        self._conditions_changed = False

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, self.old.get(key, default))

    def set(self, **fields: Any) -> None:
        self.fields.update(fields)

    def condition(self, type_: str, status: bool | None, reason: str, message: str) -> None:
        before = next((c for c in self._conditions if c.get("type") == type_), None)
        self._conditions = set_condition(
            self._conditions, type_, status, reason, message, self.generation
        )
        after = self._conditions[-1]
        if before is None or any(before.get(k) != after.get(k) for k in after):
            self._conditions_changed = True

    def condition_of(self, type_: str) -> dict[str, Any] | None:
        return next((c for c in self._conditions if c.get("type") == type_), None)

    def patch(self) -> dict[str, Any]:
        """Only what changed: a poll that learns nothing writes nothing."""
        out = {k: v for k, v in self.fields.items() if self.old.get(k) != v}
        if self._conditions_changed:
            out["conditions"] = self._conditions
        return out
