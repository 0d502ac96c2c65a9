"""Talking to a Pushgateway without ever stalling a step, and expiring old groups.

* `deadline_handler`: urllib's timeout bounds each socket operation, not the
  request (a server that trickles bytes, or a DNS lookup, can take longer). The
  request therefore runs in a daemon thread that the caller stops waiting for
  at the deadline; the thread ends by itself at its own socket timeout.
* `expire_groups`: the Pushgateway keeps every group until someone deletes it.
  Each run deletes, when it starts and when it ends, the groups of its job that
  finished longer ago than `finished_ttl` (their values are in Prometheus' own
  storage by then) or were not pushed for `abandoned_ttl` (a run that died).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client.exposition import default_handler, delete_from_gateway

FINISHED_METRIC = "glov_run_finished_timestamp_seconds"
# Written by the Pushgateway itself on every successful push to a group.
PUSH_TIME_METRIC = "push_time_seconds"


Handler = Callable[..., Callable[[], None]]


def deadline_handler(deadline_seconds: float, inner: Handler = default_handler) -> Handler:
    """A prometheus_client push handler whose whole request ends by the deadline."""

    def handler(url, method, timeout, headers, data) -> Callable[[], None]:
        def send() -> None:
            errors: list[BaseException] = []

            def attempt() -> None:
                try:
                    inner(url, method, deadline_seconds, headers, data)()
                except BaseException as exc:  # handed to the caller's thread below
                    errors.append(exc)

            worker = threading.Thread(target=attempt, name="glov-metrics-push", daemon=True)
            worker.start()
            worker.join(deadline_seconds)
            if worker.is_alive():
                raise TimeoutError(f"no answer from {url} within {deadline_seconds:g}s")
            if errors:
                raise errors[0]

        return send

    return handler


@dataclass(frozen=True)
class Group:
    """One push group as the Pushgateway lists it."""

    labels: dict[str, str]  # the grouping key, `job` included
    pushed_at: float | None
    finished_at: float | None

    def expired(self, now: float, finished_ttl: float, abandoned_ttl: float) -> bool:
        if self.finished_at is not None:
            return now - self.finished_at >= finished_ttl
        return self.pushed_at is not None and now - self.pushed_at >= abandoned_ttl


def _first_value(group: dict, metric: str) -> float | None:
    samples = group.get(metric, {}).get("metrics", [])
    return float(samples[0]["value"]) if samples else None


def list_groups(gateway: str, job: str, timeout: float) -> list[Group]:
    """The groups of `job` from the Pushgateway's JSON API (GET /api/v1/metrics)."""
    url = _base_url(gateway) + "/api/v1/metrics"
    body: list[bytes] = []

    def reading(url, method, timeout, headers, data) -> Callable[[], None]:
        # default_handler throws the response body away; this keeps it.
        def send() -> None:
            request = urllib.request.Request(url, method=method, headers=dict(headers))
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                body.append(resp.read())

        return send

    deadline_handler(timeout, reading)(url, "GET", timeout, [], None)()
    groups = []
    for raw in json.loads(body[0])["data"]:
        labels = raw.get("labels", {})
        if labels.get("job") != job:
            continue
        groups.append(
            Group(labels, _first_value(raw, PUSH_TIME_METRIC), _first_value(raw, FINISHED_METRIC))
        )
    return groups


def expire_groups(
    gateway: str,
    job: str,
    now: float,
    finished_ttl: float,
    abandoned_ttl: float,
    timeout: float,
) -> list[dict[str, str]]:
    """Delete the expired groups of `job`; return their grouping keys. Raises on failure."""
    deleted = []
    for group in list_groups(gateway, job, timeout):
        if not group.expired(now, finished_ttl, abandoned_ttl):
            continue
        key = {k: v for k, v in group.labels.items() if k != "job"}
        delete_from_gateway(
            gateway,
            job=job,
            grouping_key=key,
            timeout=timeout,
            handler=deadline_handler(timeout),
        )
        deleted.append(group.labels)
    return deleted


def _base_url(gateway: str) -> str:
    # The same rule as prometheus_client's push: a bare host:port means http.
    return (gateway if "://" in gateway else "http://" + gateway).rstrip("/")
