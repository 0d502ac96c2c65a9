"""When the operator calls Kubeflow again for a GlovRun after a failed call.

Every failure doubles the wait (base, 2 x base, ... up to cap), kept in the
status (failedAttempts, nextAttemptTime) so a restarted operator keeps it.
An outage (no answer, 5xx) is retried at the cap for as long as it lasts. A
permanent refusal (401, 403, another 4xx, a multi-user install without a
namespace) is tried `permanent_limit` times and then not again until someone
acts: a spec edit, or the resume annotation set to a new value. A call that
works clears both fields.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from controller.status import TIME_FORMAT


def parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.strptime(value, TIME_FORMAT).replace(tzinfo=datetime.UTC)


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 15.0
    cap_seconds: float = 600.0
    permanent_limit: int = 5

    def delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failure in a row (1, 2, ...)."""
        return min(self.cap_seconds, self.base_seconds * 2 ** max(0, failures - 1))

    def gives_up(self, failures: int, permanent: bool) -> bool:
        return permanent and failures >= self.permanent_limit

    def next_attempt(self, failures: int, now: datetime.datetime) -> str:
        # Whole seconds in the status; a sub-second delay still waits for the next second.
        return (now + datetime.timedelta(seconds=self.delay(failures))).strftime(TIME_FORMAT)


def waiting(next_attempt: str | None, now: datetime.datetime) -> bool:
    """Whether a GlovRun's backoff still holds at `now`."""
    return bool(next_attempt) and now < parse_time(next_attempt)
