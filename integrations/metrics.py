"""Application metrics as CloudWatch Embedded Metric Format (EMF) lines in the log: no API call.

CloudWatch Logs turns every log line whose JSON object carries an ``_aws`` envelope into metric
data points (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
so a chat turn records its latency with one ``print`` instead of a ``PutMetricData`` round trip on
the request path. Two implementations of one small interface:

- ``NullMetrics`` (the default, ``METRICS_EMF=false``): records nothing; laptops and tests stay quiet.
- ``EmfMetrics`` (``METRICS_EMF=true``, set in the Zappa stages): writes one EMF line per event to
  the ``botwright.metrics`` logger, which production logging prints unformatted to stdout.

Cost control is part of the contract: every distinct dimension combination is a billed custom
metric, so dimensions are limited to ``stage`` (always) and the names in ``ALLOWED_DIMENSIONS``
(low-cardinality: a channel is one of three). Anything per tenant — ``org``, ``bot``, a message id —
goes in ``properties``: kept in the log line, searchable in Logs Insights, never a dimension.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

METRICS_LOGGER = "botwright.metrics"
ALLOWED_DIMENSIONS = ("channel",)
# The units EMF accepts (CloudWatch's StandardUnit); a typo would silently become "None".
UNITS = (
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
)
MILLISECONDS, COUNT, BYTES = "Milliseconds", "Count", "Bytes"


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    unit: str = COUNT


class Metrics(Protocol):
    def emit(
        self,
        metrics: Sequence[Metric],
        *,
        dimensions: Mapping[str, str] | None = None,
        properties: Mapping[str, Any] | None = None,
        by_stage: Sequence[str] = (),
    ) -> None:
        """Record one event's `metrics` under `stage` + `dimensions`; the metrics named in
        `by_stage` are also recorded under `stage` alone (what alarms aggregate over).
        Never raises for the caller's sake beyond programming errors (a bad dimension or unit)."""


class EmfMetrics:
    """Writes each event as one EMF JSON line through `write` (default: the metrics logger)."""

    def __init__(
        self,
        *,
        namespace: str,
        stage: str,
        write: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.namespace = namespace
        self.stage = stage
        self._write = write or logging.getLogger(METRICS_LOGGER).info
        self._clock = clock

    def emit(
        self,
        metrics: Sequence[Metric],
        *,
        dimensions: Mapping[str, str] | None = None,
        properties: Mapping[str, Any] | None = None,
        by_stage: Sequence[str] = (),
    ) -> None:
        document = emf_document(
            namespace=self.namespace,
            stage=self.stage,
            metrics=metrics,
            dimensions=dimensions,
            properties=properties,
            by_stage=by_stage,
            timestamp_ms=int(self._clock() * 1000),
        )
        if document is not None:
            self._publish(document)

    def _publish(self, document: dict[str, Any]) -> None:
        self._write(json.dumps(document, separators=(",", ":"), default=str))


class NullMetrics(EmfMetrics):
    """Records nothing (METRICS_EMF=false), but checks its arguments like the real one, so a
    high-cardinality dimension fails in tests and on laptops, not first in production."""

    def __init__(self) -> None:
        super().__init__(namespace="-", stage="-", write=lambda line: None)

    def _publish(self, document: dict[str, Any]) -> None:
        pass


def emf_document(
    *,
    namespace: str,
    stage: str,
    metrics: Sequence[Metric],
    dimensions: Mapping[str, str] | None,
    properties: Mapping[str, Any] | None,
    by_stage: Sequence[str],
    timestamp_ms: int,
) -> dict[str, Any] | None:
    """The EMF object for one event, or None when there is nothing to record.

    Raises ValueError for a dimension outside ALLOWED_DIMENSIONS, an unknown unit, a property that
    would shadow a metric or dimension, or a `by_stage` name that is not among `metrics`.
    """
    dimensions = dict(dimensions or {})
    for name in dimensions:
        if name not in ALLOWED_DIMENSIONS:
            raise ValueError(
                f"{name!r} is not a low-cardinality dimension ({', '.join(ALLOWED_DIMENSIONS)}); "
                "put per-tenant values in properties"
            )
    # NaN and infinities are not JSON numbers; CloudWatch would reject the whole line.
    kept = [m for m in metrics if math.isfinite(m.value)]
    for metric in kept:
        if metric.unit not in UNITS:
            raise ValueError(f"{metric.unit!r} is not a CloudWatch unit")
    if not kept:
        return None
    names = {m.name for m in kept}
    missing = set(by_stage) - {m.name for m in metrics}
    if missing:
        raise ValueError(f"by_stage names metrics not emitted: {sorted(missing)}")
    root: dict[str, Any] = {}
    for key, value in (properties or {}).items():
        if key in names or key in dimensions or key in ("stage", "_aws"):
            raise ValueError(f"property {key!r} would overwrite a metric or dimension")
        root[key] = value
    directives = [
        {
            "Namespace": namespace,
            "Dimensions": [["stage", *dimensions]],
            "Metrics": [{"Name": m.name, "Unit": m.unit} for m in kept],
        }
    ]
    rolled_up = [m for m in kept if m.name in by_stage]
    if dimensions and rolled_up:
        directives.append(
            {
                "Namespace": namespace,
                "Dimensions": [["stage"]],
                "Metrics": [{"Name": m.name, "Unit": m.unit} for m in rolled_up],
            }
        )
    root.update({"stage": stage, **dimensions})
    root.update({m.name: m.value for m in kept})
    root["_aws"] = {"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}
    return root


def get_metrics() -> Metrics:
    """The configured emitter (cheap to build: read per call so settings overrides apply at once)."""
    if settings.METRICS_EMF:
        return EmfMetrics(namespace=settings.METRICS_NAMESPACE, stage=settings.METRICS_STAGE)
    return NullMetrics()


def emit_quietly(metrics: Sequence[Metric], **kwargs: Any) -> None:
    """Emit through the configured emitter; a metrics failure is logged, never the caller's failure."""
    try:
        get_metrics().emit(metrics, **kwargs)
    except ValueError:
        raise  # a programming error (bad dimension or unit): tests must see it
    except Exception:
        logging.getLogger(__name__).exception("could not emit metrics")


def ms_since(started: float) -> float:
    """Milliseconds since a ``time.monotonic()`` reading, rounded to 0.1 ms."""
    return round((time.monotonic() - started) * 1000, 1)
