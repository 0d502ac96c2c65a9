"""The operator's real kopf handlers, run in the test's event loop against any API server.

A uniquely named module rather than conftest.py (test folders have no __init__.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import kopf
from glovrun_emulator import POLL
from prometheus_client import CollectorRegistry

from controller.backoff import Backoff
from controller.handlers import operator_settings, register
from controller.kubeflow import PackageCache
from controller.metrics import OperatorMetrics
from controller.reconcile import Reconciler
from pipelines.kfp_auth import KfpAuth


@contextlib.asynccontextmanager
async def running_operator(
    login: kopf.ConnectionInfo,
    namespace: str,
    packages: PackageCache,
    auth: KfpAuth | None = None,
) -> AsyncIterator[Reconciler]:
    """The real kopf handlers in this event loop, logged in as `login`, serving `namespace`."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def _login(**_: Any) -> kopf.ConnectionInfo:
        return login

    # A fresh reconciler per start: a restart keeps nothing in memory.
    # Backoff scaled down to the test's poll interval: 1, 2, 4 polls, 3 tries when permanent.
    reconciler = Reconciler(
        OperatorMetrics(CollectorRegistry()),
        packages,
        auth=auth,
        backoff=Backoff(base_seconds=POLL, cap_seconds=4 * POLL, permanent_limit=3),
    )
    register(registry, reconciler, poll_interval=POLL, delete_retries=2, retry_delay=0.2)
    settings = operator_settings()
    settings.watching.reconnect_backoff = 0.1
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        kopf.operator(
            registry=registry,
            settings=settings,
            namespaces=[namespace],
            standalone=True,
            stop_flag=stop,
            ready_flag=ready,
        )
    )
    await asyncio.wait_for(ready.wait(), 20)
    try:
        yield reconciler
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
