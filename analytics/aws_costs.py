"""Estimating a month of AWS usage and cost from the platform's own records (Django-free).

`estimate(...)` turns per-organisation activity (`OrgActivity`: chat turns and their latencies,
documents uploaded and processed, chunks written and kept, vector bytes read, sign-ins) plus the
deployment's shape (`Deployment`: Lambda memory and timeout, schedules, hours the database ran)
into one line per billed quantity — used, free-tier allowance, projected to the month's end,
status, and the cost past the allowance — and per-org figures where a quantity can be attributed.

The model, stated so it can be checked (numbers in settings.AWS_USAGE_TABLE["assumptions"]):
- every chat turn is one API Gateway call and one Lambda request lasting its recorded latency;
  every upload is `api_calls_per_upload` calls; every processed document one asynchronous Lambda
  request lasting processing_started_at → processed_at; every scheduled event one request of
  `scheduled_invocation_s`; keep-warm pings (when on) one every 4 minutes;
- DynamoDB reads are eventually consistent: half a read unit per 4 KB of vector bytes read (the
  store meters them); each chunk written costs one write unit per started KB of its text item
  plus its vector's bytes (`vector_dim` float32) per KB of the shared vector blocks; a kept chunk
  occupies its text, vector and `item_overhead_bytes`;
- S3 holds each live document once (one PUT when uploaded, one GET when processed);
- the database runs every hour of the month; Cognito MAUs are users who signed in that month.
API calls the records do not keep (the builder's page loads, polling, health checks) are not
counted: the figures are a floor for those lines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from analytics.rollup import latency_percentile

# Line items: key -> (service, what, unit). Order is the report's.
ITEMS: dict[str, tuple[str, str, str]] = {
    "lambda_requests": ("Lambda", "requests", "requests"),
    "lambda_gb_seconds": ("Lambda", "compute", "GB-s"),
    "api_gateway_requests": ("API Gateway", "REST calls", "calls"),
    "dynamodb_read_units": ("DynamoDB", "read request units", "RRU"),
    "dynamodb_write_units": ("DynamoDB", "write request units", "WRU"),
    "dynamodb_storage_gb": ("DynamoDB", "storage", "GB-month"),
    "s3_storage_gb": ("S3", "storage", "GB-month"),
    "s3_put_requests": ("S3", "PUT requests", "requests"),
    "s3_get_requests": ("S3", "GET requests", "requests"),
    "rds_instance_hours": ("RDS", "instance hours", "hours"),
    "rds_storage_gb": ("RDS", "storage", "GB-month"),
    "cognito_mau": ("Cognito", "monthly active users", "MAU"),
}
# Above 1,769 MB a Lambda function has more than one vCPU; single-threaded work gains nothing past it.
ONE_VCPU_MB = 1769
MEMORY_STEPS_MB = (512, 1024, 1536, 1769, 2048, 3008, 4096)
GB = 1024**3
OK, NEAR, OVER, BILLED = "ok", "near limit", "over", "billed"  # billed: no free tier at all


@dataclass
class OrgActivity:
    """What one organisation did in the month (and holds at its end), from the platform's records."""

    org_id: str
    org_name: str
    chat_turns: int = 0
    chat_latency_ms: int = 0  # sum over the turns
    chat_latency_histogram: list[int] = field(default_factory=list)  # analytics.rollup buckets
    vector_bytes_read: int = 0
    documents_uploaded: int = 0
    documents_processed: int = 0
    processing_seconds: list[float] = field(default_factory=list)  # one per processed document
    chunks_written: int = 0
    chunk_text_bytes_written: int = 0
    chunks_kept: int = 0
    chunk_text_bytes_kept: int = 0
    storage_bytes: int = 0
    active_users: int = 0


@dataclass(frozen=True)
class Deployment:
    memory_mb: int
    timeout_s: int
    schedules: tuple[str, ...] = ()
    keep_warm: bool = False
    month_hours: float = 720.0  # hours of the month the report covers (elapsed, for the current one)
    month_fraction: float = 1.0  # share of the month elapsed: 1 for a past month
    database_bytes: int = 0
    distinct_active_users: int = 0  # a user in two orgs is one MAU


@dataclass
class Line:
    key: str
    service: str
    what: str
    unit: str
    used: float
    projected: float
    free: float
    price: float
    cost_usd: float
    status: str

    @property
    def share_of_free(self) -> float | None:
        return self.projected / self.free if self.free else None


@dataclass
class Recommendation:
    current_mb: int
    recommended_mb: int
    timeout_s: int
    recommended_timeout_s: int
    chat_p95_ms: int
    processing_p95_s: float
    gb_seconds_now: float
    gb_seconds_recommended: float
    reasons: list[str]


@dataclass
class Report:
    lines: list[Line]
    orgs: list[dict[str, Any]]
    recommendation: Recommendation
    total_cost_usd: float

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for line, raw in zip(self.lines, data["lines"], strict=True):
            raw["share_of_free"] = None if line.share_of_free is None else round(line.share_of_free, 4)
        return data


def invocations_per_month(expression: str, hours: float) -> float:
    """How often a Zappa schedule fires in `hours`: rate(N unit) exactly, a cron as once a day."""
    match = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression.strip())
    if match:
        every_h = int(match.group(1)) * {"m": 1 / 60, "h": 1.0, "d": 24.0}[match.group(2)[0]]
        return hours / every_h
    return hours / 24  # cron(...): Botwright's are daily


def _org_figures(activity: OrgActivity, memory_mb: int, a: Mapping[str, Any]) -> dict[str, float]:
    """The quantities attributable to one organisation."""
    processing_s = sum(activity.processing_seconds)
    text_item_wru = _text_item_units(activity.chunks_written, activity.chunk_text_bytes_written, a)
    vector_wru = activity.chunks_written * a["vector_dim"] * 4 / 1024
    kept_bytes = activity.chunk_text_bytes_kept + activity.chunks_kept * (
        a["vector_dim"] * 4 + a["item_overhead_bytes"]
    )
    return {
        "lambda_requests": activity.chat_turns + activity.documents_processed,
        "lambda_gb_seconds": (activity.chat_latency_ms / 1000 + processing_s) * memory_mb / 1024,
        "api_gateway_requests": activity.chat_turns + activity.documents_uploaded * a["api_calls_per_upload"],
        "dynamodb_read_units": activity.vector_bytes_read / 4096 * 0.5,
        "dynamodb_write_units": text_item_wru + vector_wru,
        "dynamodb_storage_gb": kept_bytes / GB,
        "s3_storage_gb": activity.storage_bytes / GB,
        "s3_put_requests": activity.documents_uploaded,
        "s3_get_requests": activity.documents_processed,
        "cognito_mau": activity.active_users,
    }


def _text_item_units(chunks: int, text_bytes: int, a: Mapping[str, Any]) -> float:
    """Write units of `chunks` text items: one per started KB of an average item."""
    if not chunks:
        return 0.0
    average = text_bytes / chunks + a["item_overhead_bytes"]
    return chunks * math.ceil(average / 1024)


def _shared_figures(deployment: Deployment, a: Mapping[str, Any]) -> dict[str, float]:
    """What no organisation causes on its own: schedules, keep-warm, the database."""
    scheduled = sum(invocations_per_month(e, deployment.month_hours) for e in deployment.schedules)
    warm = deployment.month_hours * 15 if deployment.keep_warm else 0  # Zappa pings every 4 minutes
    requests = scheduled + warm
    return {
        "lambda_requests": requests,
        "lambda_gb_seconds": requests * a["scheduled_invocation_s"] * deployment.memory_mb / 1024,
        "rds_instance_hours": deployment.month_hours,
        "rds_storage_gb": deployment.database_bytes / GB,
    }


def _status(projected: float, free: float, warn_ratio: float) -> str:
    if not free and projected:
        return BILLED
    if projected > free:
        return OVER
    if free and projected >= free * warn_ratio:
        return NEAR
    return OK


# Stock quantities (storage, users) are already whole-month figures; flows grow with the month.
_STOCKS = {"dynamodb_storage_gb", "s3_storage_gb", "rds_storage_gb", "cognito_mau"}


def estimate(
    activities: Sequence[OrgActivity], deployment: Deployment, table: Mapping[str, Mapping[str, Any]]
) -> Report:
    """The month's lines, the per-org attribution and the Lambda memory recommendation."""
    free, prices, a = table["free_tier"], table["prices"], table["assumptions"]
    per_org = {x.org_id: _org_figures(x, deployment.memory_mb, a) for x in activities}
    shared = _shared_figures(deployment, a)
    totals = {key: shared.get(key, 0.0) + sum(f.get(key, 0.0) for f in per_org.values()) for key in ITEMS}
    totals["cognito_mau"] = float(deployment.distinct_active_users)
    lines = []
    for key, (service, what, unit) in ITEMS.items():
        used = totals[key]
        growth = 1.0 if key in _STOCKS or deployment.month_fraction <= 0 else 1 / deployment.month_fraction
        projected = used * min(growth, 1000.0)
        cost = max(0.0, projected - free[key]) * prices[key]
        status = _status(projected, free[key], a["warn_ratio"])
        lines.append(Line(key, service, what, unit, used, projected, free[key], prices[key], cost, status))
    orgs = []
    for activity in activities:
        figures = per_org[activity.org_id]
        orgs.append(
            {
                "org_id": activity.org_id,
                "org": activity.org_name,
                "chat_turns": activity.chat_turns,
                "documents_uploaded": activity.documents_uploaded,
                "documents_processed": activity.documents_processed,
                **{k: round(v, 6) for k, v in figures.items()},
                # At list prices, before the free tier: what this org's usage is worth.
                "list_cost_usd": round(sum(v * prices[k] for k, v in figures.items()), 6),
            }
        )
    return Report(
        lines=lines,
        orgs=orgs,
        recommendation=recommend_memory(activities, deployment, a),
        total_cost_usd=sum(line.cost_usd for line in lines),
    )


def _percentile(values: Iterable[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def _cpu(memory_mb: int) -> float:
    return min(memory_mb, ONE_VCPU_MB) / ONE_VCPU_MB


def recommend_memory(
    activities: Sequence[OrgActivity], deployment: Deployment, a: Mapping[str, Any]
) -> Recommendation:
    """The smallest memory size at which document processing still fits the timeout comfortably.

    Chat turns mostly wait for the model, so their duration is taken as independent of memory
    (their GB-seconds fall with it); document processing is CPU-bound embedding, so its duration
    scales with the CPU share Lambda gives the memory size (linear up to one vCPU at 1,769 MB;
    ONNX runs one thread on Lambda, so more memory buys nothing past that).
    """
    histograms = [x.chat_latency_histogram for x in activities if x.chat_latency_histogram]
    histogram = [sum(bucket) for bucket in zip(*histograms, strict=True)]
    chat_p95 = latency_percentile(histogram) if histogram else 0
    chat_s = sum(x.chat_latency_ms for x in activities) / 1000
    processing = [s for x in activities for s in x.processing_seconds]
    processing_p95 = _percentile(processing, 0.95)
    processing_max = max(processing, default=0.0)
    current = deployment.memory_mb
    floor, budget = a["min_memory_mb"], a["processing_timeout_share"] * deployment.timeout_s

    def processing_at(memory: int, seconds: float) -> float:
        return seconds * _cpu(current) / _cpu(memory)

    def gb_seconds(memory: int) -> float:
        return (chat_s + sum(processing_at(memory, s) for s in processing)) * memory / 1024

    fitting = [m for m in MEMORY_STEPS_MB if m >= floor and processing_at(m, processing_p95) <= budget]
    reasons = []
    if not processing and not chat_s:
        recommended = current
        reasons.append("no chat turns or processed documents this month: nothing to measure")
    elif fitting:
        recommended = fitting[0]
        reasons.append(
            f"document processing p95 {processing_p95:.1f} s at {current} MB would take "
            f"{processing_at(recommended, processing_p95):.1f} s at {recommended} MB, within "
            f"{a['processing_timeout_share']:.0%} of the {deployment.timeout_s} s timeout"
        )
        if recommended == floor:
            reasons.append(f"{floor} MB is the floor (the embedding model and Django must fit in memory)")
    else:
        recommended = max(current, ONE_VCPU_MB)
        reasons.append(
            f"document processing p95 {processing_p95:.1f} s does not fit "
            f"{a['processing_timeout_share']:.0%} of the {deployment.timeout_s} s timeout at any size: "
            "raise timeout_seconds"
        )
    # Twice the slowest processing seen, within Lambda's 900 s maximum; never lowered, since one
    # large upload the month did not see would otherwise time out.
    timeout = min(900, max(deployment.timeout_s, math.ceil(2 * processing_max)))
    if timeout > deployment.timeout_s:
        reasons.append(f"the slowest document took {processing_max:.0f} s: give it twice that")
    if chat_p95:
        reasons.append(f"chat p95 {chat_p95} ms is mostly the model's time and does not depend on memory")
    return Recommendation(
        current_mb=current,
        recommended_mb=recommended,
        timeout_s=deployment.timeout_s,
        recommended_timeout_s=timeout,
        chat_p95_ms=chat_p95,
        processing_p95_s=round(processing_p95, 2),
        gb_seconds_now=round(gb_seconds(current), 3),
        gb_seconds_recommended=round(gb_seconds(recommended), 3),
        reasons=reasons,
    )


def format_report(report: Report, *, month: str, projected: bool) -> str:
    """The report as fixed-width tables for a terminal."""
    out = [f"AWS usage estimate for {month}" + (" (projected to the end of the month)" if projected else "")]
    header = ("service", "what", "used", "projected", "free tier", "of free", "cost USD", "status")
    rows = [
        (
            line.service,
            f"{line.what} ({line.unit})",
            _num(line.used),
            _num(line.projected),
            _num(line.free),
            "-" if line.share_of_free is None else f"{line.share_of_free:.0%}",
            f"{line.cost_usd:.2f}",
            line.status,
        )
        for line in report.lines
    ]
    out += _table(header, rows)
    out.append(f"Estimated cost past the free tier: {report.total_cost_usd:.2f} USD")
    if report.orgs:
        out.append("")
        out.append("Per organisation (attributable usage; list cost before the free tier)")
        org_header = (
            "org",
            "chat turns",
            "docs",
            "Lambda GB-s",
            "API calls",
            "RRU",
            "WRU",
            "S3 GB",
            "MAU",
            "USD",
        )
        org_rows = [
            (
                o["org"][:30],
                str(o["chat_turns"]),
                str(o["documents_processed"]),
                _num(o["lambda_gb_seconds"]),
                _num(o["api_gateway_requests"]),
                _num(o["dynamodb_read_units"]),
                _num(o["dynamodb_write_units"]),
                _num(o["s3_storage_gb"]),
                str(int(o["cognito_mau"])),
                f"{o['list_cost_usd']:.4f}",
            )
            for o in report.orgs
        ]
        out += _table(org_header, org_rows)
    r = report.recommendation
    out.append("")
    out.append(
        f"Lambda memory: {r.current_mb} MB now, {r.recommended_mb} MB recommended "
        f"({_num(r.gb_seconds_now)} -> {_num(r.gb_seconds_recommended)} GB-s this month); "
        f"timeout {r.timeout_s} s, {r.recommended_timeout_s} s recommended"
    )
    out += [f"  - {reason}" for reason in r.reasons]
    return "\n".join(out)


def _num(value: float) -> str:
    if value == int(value) and abs(value) < 1e12:
        return f"{int(value):,}"
    return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    render = lambda row: "  ".join(  # noqa: E731
        str(c).ljust(w) if i < 2 else str(c).rjust(w)
        for i, (c, w) in enumerate(zip(row, widths, strict=True))
    ).rstrip()
    return [render(header), *(render(row) for row in rows)]
