"""Idempotent CloudWatch alarms, their SNS topic and one dashboard (`bootstrap_aws --monitoring`).

`monitoring_plan(...)` describes what a stage needs (Django-free, from names and thresholds);
`bootstrap_monitoring(...)` compares it with what exists and creates or corrects only the
difference, one `Action` per resource, like `integrations.aws_bootstrap` (whose reconciler it
shares): a second run reports everything "ok"; `dry_run=True` only reads.

Alarms (all notify the topic, and again when they recover):
- Lambda: errors, throttles, and duration p95 near the function's timeout;
- API Gateway (the REST API Zappa creates, named like the function): 5XX errors and latency p95;
- DynamoDB vectors table: throttled reads + writes, system errors of the operations the store uses;
- RDS (when an instance is named): CPU, free storage, connection count;
- the application's EMF metrics (integrations.metrics): document failures and the unanswered rate
  (the Average of the 0/1 `Unanswered` per turn, recorded per stage for exactly this alarm).
Alarms with other names are never touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from integrations.aws_bootstrap import ERROR, WOULD_CREATE, Action, _code, _Reconciler

# DynamoDB reports SystemErrors per operation: the ones the vectors store and its cache call.
DYNAMODB_OPERATIONS = (
    "Query",
    "BatchWriteItem",
    "BatchGetItem",
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
)
# Fields of DescribeAlarms that PutMetricAlarm sets; anything else (state, ARNs, timestamps) is AWS's.
ALARM_FIELDS = (
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "Metrics",
)


@dataclass(frozen=True)
class Thresholds:
    """When each alarm fires; the defaults suit a small deployment (settings override them)."""

    lambda_errors: int = 1  # per 5 minutes
    lambda_throttles: int = 1  # per 5 minutes
    duration_timeout_ratio: float = 0.8  # duration p95 above this share of the timeout
    api_5xx: int = 5  # per 5 minutes
    api_latency_p95_ms: int = 10_000  # API Gateway cuts requests at 29 s
    dynamodb_throttles: int = 1
    dynamodb_system_errors: int = 1
    rds_cpu_percent: float = 80.0
    rds_free_storage_bytes: int = 2 * 1024**3
    rds_connections: int = 60
    document_failures: int = 3  # per hour
    unanswered_rate: float = 0.5  # share of turns in an hour


@dataclass(frozen=True)
class Target:
    """The stage's resources, by name."""

    stage: str
    region: str
    function_name: str
    timeout_s: int
    api_name: str
    table: str = ""
    rds_instance: str = ""
    namespace: str = "Botwright"
    # chat.models.Channel's values (integrations do not import app models; a test keeps them equal).
    channels: tuple[str, ...] = ("builder", "public", "api")
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass
class Plan:
    topic_name: str
    alarms: list[
        dict[str, Any]
    ]  # PutMetricAlarm requests, without the actions (added once the topic is known)
    dashboard_name: str
    dashboard: dict[str, Any]


def _metric(namespace: str, name: str, dimensions: dict[str, str]) -> dict[str, Any]:
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
    }


def _simple(
    name: str,
    description: str,
    metric: dict[str, Any],
    *,
    stat: str,
    threshold: float,
    period: int = 300,
    evaluations: int = 1,
    comparison: str = "GreaterThanOrEqualToThreshold",
    missing: str = "notBreaching",
) -> dict[str, Any]:
    alarm: dict[str, Any] = {
        "AlarmName": name,
        "AlarmDescription": description,
        **metric,
        "Period": period,
        "EvaluationPeriods": evaluations,
        "DatapointsToAlarm": evaluations,
        "Threshold": float(threshold),
        "ComparisonOperator": comparison,
        "TreatMissingData": missing,
    }
    alarm["ExtendedStatistic" if stat.startswith("p") else "Statistic"] = stat
    return alarm


def _sum_of(
    name: str,
    description: str,
    metrics: list[dict[str, Any]],
    *,
    threshold: float,
    period: int = 300,
) -> dict[str, Any]:
    """An alarm on the sum of several metrics (metric math; a metric without data counts 0)."""
    queries = [
        {
            "Id": f"m{i}",
            "MetricStat": {"Metric": metric, "Period": period, "Stat": "Sum"},
            "ReturnData": False,
        }
        for i, metric in enumerate(metrics)
    ]
    expression = " + ".join(f"FILL(m{i}, 0)" for i in range(len(metrics)))
    queries.append({"Id": "total", "Expression": expression, "Label": name, "ReturnData": True})
    return {
        "AlarmName": name,
        "AlarmDescription": description,
        "Metrics": queries,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": float(threshold),
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }


def monitoring_plan(target: Target) -> Plan:
    """The alarms and the dashboard a stage needs."""
    t, prefix = target.thresholds, f"botwright-{target.stage}"
    fn = {"FunctionName": target.function_name}
    api = {"ApiName": target.api_name}
    app = {"stage": target.stage}
    timeout_ms = target.timeout_s * 1000
    alarms = [
        _simple(
            f"{prefix}-lambda-errors",
            "The Botwright function raised errors (an invocation failed). Logs Insights: level = ERROR.",
            _metric("AWS/Lambda", "Errors", fn),
            stat="Sum",
            threshold=t.lambda_errors,
        ),
        _simple(
            f"{prefix}-lambda-throttles",
            "Invocations were throttled: raise the account's concurrency limit or reserved concurrency.",
            _metric("AWS/Lambda", "Throttles", fn),
            stat="Sum",
            threshold=t.lambda_throttles,
        ),
        _simple(
            f"{prefix}-lambda-duration-p95",
            f"Duration p95 is above {t.duration_timeout_ratio:.0%} of the {target.timeout_s} s timeout: "
            "invocations are about to time out (raise memory or timeout_seconds in zappa_settings.json).",
            _metric("AWS/Lambda", "Duration", fn),
            stat="p95",
            threshold=round(timeout_ms * t.duration_timeout_ratio),
            evaluations=2,
            comparison="GreaterThanThreshold",
        ),
        _simple(
            f"{prefix}-api-5xx",
            "API Gateway returned 5XX responses (the function failed or timed out at 29 s).",
            _metric("AWS/ApiGateway", "5XXError", api),
            stat="Sum",
            threshold=t.api_5xx,
        ),
        _simple(
            f"{prefix}-api-latency-p95",
            f"API latency p95 is above {t.api_latency_p95_ms} ms (API Gateway gives up at 29 s).",
            _metric("AWS/ApiGateway", "Latency", api),
            stat="p95",
            threshold=t.api_latency_p95_ms,
            evaluations=2,
            comparison="GreaterThanThreshold",
        ),
        _simple(
            f"{prefix}-document-failures",
            "Documents failed to process in the last hour; the admin's document list says why.",
            _metric(target.namespace, "DocumentFailures", app),
            stat="Sum",
            threshold=t.document_failures,
            period=3600,
        ),
        _simple(
            f"{prefix}-unanswered-rate",
            f"More than {t.unanswered_rate:.0%} of chat turns in an hour went unanswered (fallback or "
            "model error): check the model key and quota, then the unanswered questions in the admin.",
            _metric(target.namespace, "Unanswered", app),
            stat="Average",
            threshold=t.unanswered_rate,
            period=3600,
            comparison="GreaterThanThreshold",
        ),
    ]
    if target.table:
        table = {"TableName": target.table}
        alarms += [
            _sum_of(
                f"{prefix}-dynamodb-throttled-requests",
                "DynamoDB throttled reads or writes on the vectors table.",
                [
                    _metric("AWS/DynamoDB", "ReadThrottleEvents", table),
                    _metric("AWS/DynamoDB", "WriteThrottleEvents", table),
                ],
                threshold=t.dynamodb_throttles,
            ),
            _sum_of(
                f"{prefix}-dynamodb-system-errors",
                "DynamoDB answered with internal (5xx) errors on the vectors table.",
                [
                    _metric("AWS/DynamoDB", "SystemErrors", {**table, "Operation": op})
                    for op in DYNAMODB_OPERATIONS
                ],
                threshold=t.dynamodb_system_errors,
            ),
        ]
    if target.rds_instance:
        db = {"DBInstanceIdentifier": target.rds_instance}
        alarms += [
            _simple(
                f"{prefix}-rds-cpu",
                f"Database CPU above {t.rds_cpu_percent:g}% for 15 minutes.",
                _metric("AWS/RDS", "CPUUtilization", db),
                stat="Average",
                threshold=t.rds_cpu_percent,
                evaluations=3,
                comparison="GreaterThanThreshold",
            ),
            _simple(
                f"{prefix}-rds-free-storage",
                f"Database free storage below {t.rds_free_storage_bytes // 1024**2} MiB: grow the volume.",
                _metric("AWS/RDS", "FreeStorageSpace", db),
                stat="Minimum",
                threshold=t.rds_free_storage_bytes,
                comparison="LessThanThreshold",
                missing="missing",
            ),
            _simple(
                f"{prefix}-rds-connections",
                f"More than {t.rds_connections} database connections (Lambda containers each hold one; "
                "consider RDS Proxy or lower reserved concurrency).",
                _metric("AWS/RDS", "DatabaseConnections", db),
                stat="Maximum",
                threshold=t.rds_connections,
                comparison="GreaterThanThreshold",
            ),
        ]
    return Plan(
        topic_name=f"{prefix}-alarms",
        alarms=alarms,
        dashboard_name=prefix,
        dashboard=_dashboard(target),
    )


def _graph(title: str, metrics: list[list[Any]], *, region: str, stat: str = "Sum", **extra: Any) -> dict:
    return {
        "type": "metric",
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stat": stat,
            "period": 300,
            "metrics": metrics,
            **extra,
        },
    }


def _dashboard(target: Target) -> dict[str, Any]:
    r, ns, stage, fn = target.region, target.namespace, target.stage, target.function_name

    def per_channel(*names: str) -> list[list[Any]]:
        return [[ns, n, "stage", stage, "channel", c] for n in names for c in target.channels]

    widgets = [
        _graph(
            "Lambda invocations, errors, throttles",
            [["AWS/Lambda", m, "FunctionName", fn] for m in ("Invocations", "Errors", "Throttles")],
            region=r,
        ),
        _graph(
            "Lambda duration p95 (ms)",
            [["AWS/Lambda", "Duration", "FunctionName", fn]],
            region=r,
            stat="p95",
            annotations={"horizontal": [{"label": "timeout", "value": target.timeout_s * 1000}]},
        ),
        _graph(
            "API Gateway requests and errors",
            [["AWS/ApiGateway", m, "ApiName", target.api_name] for m in ("Count", "4XXError", "5XXError")],
            region=r,
        ),
        _graph(
            "API Gateway latency p95 (ms)",
            [["AWS/ApiGateway", "Latency", "ApiName", target.api_name]],
            region=r,
            stat="p95",
        ),
        _graph("Chat latency p95 by channel (ms)", per_channel("ChatLatency"), region=r, stat="p95"),
        _graph(
            "Retrieval and model latency p95 (ms)",
            per_channel("RetrievalLatency", "ModelLatency"),
            region=r,
            stat="p95",
        ),
        _graph(
            "Unanswered rate",
            [[ns, "Unanswered", "stage", stage, {"stat": "Average"}]],
            region=r,
            stat="Average",
            yAxis={"left": {"min": 0, "max": 1}},
        ),
        _graph("Fallbacks and model errors", per_channel("Fallback", "ModelErrors"), region=r),
        _graph("Model tokens", per_channel("PromptTokens", "CompletionTokens"), region=r),
        _graph("Vector bytes read", per_channel("VectorBytesRead"), region=r),
        _graph(
            "Document processing time p95 (ms) and failures",
            [
                [ns, "DocumentProcessingTime", "stage", stage, {"stat": "p95"}],
                [ns, "DocumentFailures", "stage", stage, {"stat": "Sum", "yAxis": "right"}],
            ],
            region=r,
            stat="p95",
        ),
    ]
    if target.table:
        widgets.append(
            _graph(
                "DynamoDB capacity and throttles",
                [
                    ["AWS/DynamoDB", m, "TableName", target.table]
                    for m in (
                        "ConsumedReadCapacityUnits",
                        "ConsumedWriteCapacityUnits",
                        "ReadThrottleEvents",
                        "WriteThrottleEvents",
                    )
                ],
                region=r,
            )
        )
    if target.rds_instance:
        db = target.rds_instance
        widgets.append(
            _graph(
                "RDS CPU (%) and connections",
                [
                    ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", db],
                    ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", db, {"yAxis": "right"}],
                ],
                region=r,
                stat="Average",
            )
        )
        widgets.append(
            _graph(
                "RDS free storage (bytes)",
                [["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", db]],
                region=r,
                stat="Minimum",
            )
        )
    for index, widget in enumerate(widgets):
        widget["x"], widget["y"] = (index % 2) * 12, (index // 2) * 6
    return {"widgets": widgets}


# --- reconciling ---------------------------------------------------------------------------------


def bootstrap_monitoring(
    *,
    cloudwatch_client: Any,
    sns_client: Any,
    plan: Plan,
    alarm_email: str = "",
    dry_run: bool,
) -> list[Action]:
    """Bring the topic, its email subscription, the alarms and the dashboard to `plan`; idempotent.

    Never raises for AWS errors: they become "error" actions and the remaining checks still run.
    """
    rec = _Reconciler(dry_run=dry_run)
    topic_arn = _topic(rec, sns_client, plan.topic_name)
    resource = f"sns:{plan.topic_name}"
    if alarm_email and topic_arn:
        rec.guarded(
            resource,
            f"email {alarm_email}",
            lambda: _subscription(rec, sns_client, topic_arn, resource, alarm_email),
        )
    elif alarm_email and rec.dry_run:
        rec.add(resource, f"email {alarm_email}", WOULD_CREATE, "with the topic")
    actions = [topic_arn] if topic_arn else []
    rec.guarded(
        "cloudwatch alarms", "describe", lambda: _alarms(rec, cloudwatch_client, plan.alarms, actions)
    )
    rec.guarded(
        f"dashboard:{plan.dashboard_name}",
        "dashboard",
        lambda: _dashboard_check(rec, cloudwatch_client, plan.dashboard_name, plan.dashboard),
    )
    return rec.actions


def _find_topic(sns: Any, name: str) -> str:
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].rsplit(":", 1)[-1] == name:
                return topic["TopicArn"]
    return ""


def _topic(rec: _Reconciler, sns: Any, name: str) -> str:
    """The topic's ARN, created unless dry-run ("" when it does not exist yet or cannot be read)."""
    resource = f"sns:{name}"
    try:
        arn = _find_topic(sns, name)
        created: list[str] = []
        rec.apply(
            resource,
            "topic",
            exists=bool(arn),
            matches=bool(arn),
            change=lambda: created.append(sns.create_topic(Name=name)["TopicArn"]),
        )
        return arn or (created[0] if created else "")
    except ClientError as exc:
        rec.add(resource, "topic", ERROR, f"{_code(exc)}: {exc}")
        return ""


def _subscription(rec: _Reconciler, sns: Any, topic_arn: str, resource: str, email: str) -> None:
    existing = [
        sub
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
        for sub in page.get("Subscriptions", [])
        if sub.get("Protocol") == "email" and sub.get("Endpoint", "").lower() == email.lower()
    ]
    rec.apply(
        resource,
        f"email {email}",
        exists=False,
        matches=bool(existing),
        change=lambda: sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=email),
        detail="AWS emails a confirmation link: alarms reach the address once it is clicked",
    )


def _normalise(value: Any) -> Any:
    """Order-insensitive dimension lists and default-free metric queries, for comparison."""
    if isinstance(value, list):
        items = [_normalise(v) for v in value]
        if all(isinstance(v, dict) and set(v) == {"Name", "Value"} for v in items):
            return sorted(items, key=lambda d: d["Name"])
        return items
    if isinstance(value, dict):
        normal = {k: _normalise(v) for k, v in value.items() if v not in (None, [], "")}
        if "Id" in normal:  # a metric query: ReturnData defaults to true
            normal.setdefault("ReturnData", True)
        return normal
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _alarm_drift(desired: dict[str, Any], existing: dict[str, Any]) -> list[str]:
    return [
        key
        for key in ALARM_FIELDS
        if _normalise(desired.get(key) or None) != _normalise(existing.get(key) or None)
        and not (key == "ActionsEnabled" and existing.get(key, True) == desired.get(key, True))
    ]


def _alarms(rec: _Reconciler, cw: Any, alarms: list[dict[str, Any]], actions: list[str]) -> None:
    names = [a["AlarmName"] for a in alarms]
    existing: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
        pages = cw.get_paginator("describe_alarms").paginate(AlarmNames=names[start : start + 100])
        for page in pages:
            for found in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                existing[found["AlarmName"]] = found
    for alarm in alarms:
        desired = {**alarm, "ActionsEnabled": True, "AlarmActions": actions, "OKActions": actions}
        current = existing.get(alarm["AlarmName"])
        drift = _alarm_drift(desired, current) if current else []
        rec.guarded(
            f"alarm:{alarm['AlarmName']}",
            "alarm",
            lambda desired=desired, current=current, drift=drift: rec.apply(
                f"alarm:{desired['AlarmName']}",
                "alarm",
                exists=current is not None,
                matches=current is not None and not drift,
                change=lambda: cw.put_metric_alarm(**desired),
                detail=f"differs in {', '.join(drift)}" if drift else "",
            ),
        )


def _dashboard_check(rec: _Reconciler, cw: Any, name: str, body: dict[str, Any]) -> None:
    try:
        current = json.loads(cw.get_dashboard(DashboardName=name)["DashboardBody"])
        exists = True
    except ClientError as exc:
        if _code(exc) not in ("ResourceNotFound", "ResourceNotFoundException"):
            raise
        current, exists = None, False
    rec.apply(
        f"dashboard:{name}",
        "dashboard",
        exists=exists,
        matches=current == body,
        change=lambda: cw.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body)),
        detail=f"{len(body['widgets'])} graphs",
    )
