"""`bootstrap_aws --monitoring` against moto (CloudWatch, SNS): the topic, the alarms and the
dashboard are created and read back; a second run reports all ok; drift is corrected; a dry run
creates nothing."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from django.conf import settings
from django.core.management import CommandError, call_command
from moto import mock_aws

from integrations.aws_monitoring import (
    ALARM_FIELDS,
    DYNAMODB_OPERATIONS,
    Target,
    bootstrap_monitoring,
    monitoring_plan,
)
from integrations.zappa_stage import load_stage

REGION = "eu-west-1"
BUCKET = "botwright-test-documents"
TABLE = "botwright-test-vectors"
DB = "botwright-dev-db"
EXPECTED_ALARMS = {
    f"botwright-dev-{name}"
    for name in (
        "lambda-errors",
        "lambda-throttles",
        "lambda-duration-p95",
        "api-5xx",
        "api-latency-p95",
        "dynamodb-throttled-requests",
        "dynamodb-system-errors",
        "rds-cpu",
        "rds-free-storage",
        "rds-connections",
        "document-failures",
        "unanswered-rate",
    )
}


@pytest.fixture
def aws(settings) -> Iterator[dict[str, Any]]:
    settings.AWS_STORAGE_BUCKET_NAME = BUCKET
    settings.DYNAMODB_VECTORS_TABLE = TABLE
    settings.AWS_REGION = REGION
    settings.AWS_ENDPOINT_URL = None
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    settings.MONITORING_RDS_INSTANCE = DB
    settings.MONITORING_ALARM_EMAIL = ""
    settings.MONITORING_THRESHOLDS = {}
    settings.METRICS_STAGE = "dev"
    with mock_aws():
        yield {name: boto3.client(name, region_name=REGION) for name in ("cloudwatch", "sns")}


def bootstrap(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("bootstrap_aws", "--monitoring", *args, stdout=out)
    return out.getvalue().splitlines()


def alarms(cw: Any) -> dict[str, dict[str, Any]]:
    return {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}


def topic_arns(sns: Any) -> list[str]:
    return [t["TopicArn"] for t in sns.list_topics()["Topics"]]


def test_monitoring_creates_the_topic_alarms_and_dashboard(aws):
    lines = bootstrap("--alarm-email", "ops@example.com")
    cw, sns = aws["cloudwatch"], aws["sns"]

    (topic,) = topic_arns(sns)
    assert topic.endswith(":botwright-dev-alarms")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "ops@example.com")]

    found = alarms(cw)
    assert set(found) == EXPECTED_ALARMS
    assert all(a["AlarmActions"] == [topic] and a["OKActions"] == [topic] for a in found.values())
    duration = found["botwright-dev-lambda-duration-p95"]
    # zappa_settings.json: dev runs "botwright-dev" with a 300 s timeout; the alarm fires at 80 %.
    assert duration["Namespace"] == "AWS/Lambda" and duration["ExtendedStatistic"] == "p95"
    assert duration["Dimensions"] == [{"Name": "FunctionName", "Value": "botwright-dev"}]
    assert duration["Threshold"] == 240_000
    assert found["botwright-dev-api-5xx"]["Dimensions"] == [{"Name": "ApiName", "Value": "botwright-dev"}]
    unanswered = found["botwright-dev-unanswered-rate"]
    assert (unanswered["Namespace"], unanswered["MetricName"], unanswered["Statistic"]) == (
        "Botwright",
        "Unanswered",
        "Average",
    )
    assert unanswered["Dimensions"] == [{"Name": "stage", "Value": "dev"}]
    assert found["botwright-dev-document-failures"]["MetricName"] == "DocumentFailures"
    system_errors = found["botwright-dev-dynamodb-system-errors"]["Metrics"]
    operations = {
        d["Value"]
        for q in system_errors
        if "MetricStat" in q
        for d in q["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == "Operation"
    }
    assert operations == set(DYNAMODB_OPERATIONS)
    assert found["botwright-dev-rds-free-storage"]["ComparisonOperator"] == "LessThanThreshold"

    body = json.loads(cw.get_dashboard(DashboardName="botwright-dev")["DashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert len(titles) == 14
    assert "Unanswered rate" in titles and "RDS CPU (%) and connections" in titles
    assert any(line.startswith("created") and "dashboard:botwright-dev" in line for line in lines)


def test_a_second_run_reports_all_ok_and_changes_nothing(aws):
    bootstrap("--alarm-email", "ops@example.com")
    before = alarms(aws["cloudwatch"])

    lines = bootstrap("--alarm-email", "ops@example.com")

    assert all(line.startswith("ok") for line in lines[:-1]), lines
    assert lines[-1].endswith(" ok") and "created" not in lines[-1] and "updated" not in lines[-1]
    after = alarms(aws["cloudwatch"])
    assert {n: a["AlarmConfigurationUpdatedTimestamp"] for n, a in after.items()} == {
        n: a["AlarmConfigurationUpdatedTimestamp"] for n, a in before.items()
    }
    assert len(topic_arns(aws["sns"])) == 1
    (topic,) = topic_arns(aws["sns"])
    assert len(aws["sns"].list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]) == 1


def test_drift_is_corrected_and_other_alarms_are_left_alone(aws):
    cw = aws["cloudwatch"]
    bootstrap()
    cw.put_metric_alarm(**{**_request(alarms(cw)["botwright-dev-lambda-errors"]), "Threshold": 50.0})
    cw.put_metric_alarm(
        AlarmName="someone-elses-alarm",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )

    lines = bootstrap()

    assert [line.split()[:2] for line in lines if not line.startswith("ok")][:-1] == [
        ["updated", "alarm:botwright-dev-lambda-errors"]
    ]
    assert "Threshold" in next(line for line in lines if line.startswith("updated"))
    assert alarms(cw)["botwright-dev-lambda-errors"]["Threshold"] == 1.0
    assert alarms(cw)["someone-elses-alarm"]["Threshold"] == 1.0


def test_a_dry_run_creates_nothing(aws):
    lines = bootstrap("--dry-run", "--alarm-email", "ops@example.com")

    assert lines[0] == "Dry run: nothing was changed."
    assert topic_arns(aws["sns"]) == []
    assert alarms(aws["cloudwatch"]) == {}
    assert aws["cloudwatch"].list_dashboards()["DashboardEntries"] == []
    monitoring = [line for line in lines if any(k in line for k in ("alarm:", "sns:", "dashboard:"))]
    assert len(monitoring) == len(EXPECTED_ALARMS) + 3  # the topic, its subscription, the dashboard
    assert all(line.startswith("would create") for line in monitoring)


def test_thresholds_come_from_settings_and_unknown_ones_are_refused(aws, settings):
    settings.MONITORING_THRESHOLDS = {"unanswered_rate": 0.25}
    bootstrap()
    assert alarms(aws["cloudwatch"])["botwright-dev-unanswered-rate"]["Threshold"] == 0.25
    settings.MONITORING_THRESHOLDS = {"unanswerd_rate": 0.25}
    with pytest.raises(CommandError, match="unknown key"):
        bootstrap()


def test_an_unknown_stage_is_refused_before_anything_is_created(aws):
    with pytest.raises(CommandError, match="no stage 'staging'.*dev, production"):
        bootstrap("--stage", "staging")
    assert boto3.client("s3", region_name=REGION).list_buckets()["Buckets"] == []


def test_without_a_table_or_database_their_alarms_and_graphs_are_left_out():
    plan = monitoring_plan(Target(stage="p", region=REGION, function_name="f", timeout_s=30, api_name="f"))
    names = {a["AlarmName"] for a in plan.alarms}
    assert not any("dynamodb" in n or "rds" in n for n in names) and len(names) == 7
    assert not any("DynamoDB" in w["properties"]["title"] for w in plan.dashboard["widgets"])


def _request(alarm: dict[str, Any]) -> dict[str, Any]:
    return {k: alarm[k] for k in ("AlarmName", *ALARM_FIELDS) if k in alarm}


def test_a_stage_inherits_what_it_extends(tmp_path):
    production = load_stage(settings.ZAPPA_SETTINGS_PATH, "production")
    assert (production.function_name, production.timeout_s, production.memory_mb) == (
        "botwright-production",
        300,
        2048,
    )
    assert "rate(15 minutes)" in production.schedules
    loop = tmp_path / "zappa_settings.json"
    loop.write_text(json.dumps({"a": {"extends": "b"}, "b": {"extends": "a"}}))
    with pytest.raises(ValueError, match="circular"):
        load_stage(loop, "a")


def test_an_aws_error_is_reported_and_the_other_checks_still_run(aws):
    cw = boto3.client("cloudwatch", region_name=REGION)
    plan = monitoring_plan(Target(stage="dev", region=REGION, function_name="f", timeout_s=30, api_name="f"))
    with Stubber(cw) as stub:
        stub.add_client_error("describe_alarms", "AccessDenied", "not allowed: cloudwatch:DescribeAlarms")
        stub.add_client_error("get_dashboard", "AccessDenied", "not allowed: cloudwatch:GetDashboard")
        actions = bootstrap_monitoring(cloudwatch_client=cw, sns_client=aws["sns"], plan=plan, dry_run=False)
    assert [(a.resource, a.status) for a in actions] == [
        ("sns:botwright-dev-alarms", "created"),
        ("cloudwatch alarms", "error"),
        ("dashboard:botwright-dev", "error"),
    ]
    assert "DescribeAlarms" in actions[1].detail


def test_the_dashboard_graphs_every_chat_channel():
    from chat.models import Channel

    assert Target(stage="p", region=REGION, function_name="f", timeout_s=30, api_name="f").channels == tuple(
        Channel.values
    )
