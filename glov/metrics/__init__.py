"""Prometheus metrics of GLOV runs: recorded per step, pushed or served.

See names.py for every metric and label, recorder.py for RunMetrics.
"""

from glov.metrics.names import (
    FINAL_VARIANTS,
    IDENTITY_LABELS,
    REJECT_REASONS,
    SPECS,
    STAGES,
    check_label_value,
    slug,
)
from glov.metrics.recorder import RunMetrics
from glov.metrics.serve import MetricsServer

__all__ = [
    "FINAL_VARIANTS",
    "IDENTITY_LABELS",
    "REJECT_REASONS",
    "SPECS",
    "STAGES",
    "MetricsServer",
    "RunMetrics",
    "check_label_value",
    "slug",
]
