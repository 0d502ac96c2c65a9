"""Prometheus metrics of GLOV runs: recorded per step, pushed to a Pushgateway.

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

__all__ = [
    "FINAL_VARIANTS",
    "IDENTITY_LABELS",
    "REJECT_REASONS",
    "SPECS",
    "STAGES",
    "RunMetrics",
    "check_label_value",
    "slug",
]
