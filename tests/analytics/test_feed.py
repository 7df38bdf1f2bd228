"""The QuickSight / Athena feed against moto: files, manifests and DDL read back and validated."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from datetime import UTC

import boto3
import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.exports import DATASETS
from analytics.feed import data_key, ddl_key, manifest_key
from chat.models import Channel
from chat.services import chat_answer, new_visitor_id
from integrations.aws_bootstrap import ANALYTICS_RULE_ID, bootstrap

pytestmark = pytest.mark.django_db
REGION = "eu-west-1"
BUCKET = "botwright-analytics-test"


@pytest.fixture
def s3(aws, settings):
    settings.ANALYTICS_BUCKET = BUCKET
    settings.ANALYTICS_PREFIX = "analytics"
    settings.AWS_REGION = REGION
    settings.AWS_ENDPOINT_URL = None
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


def _read_gzip_csv(s3, key):
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return list(csv.DictReader(io.StringIO(gzip.decompress(body).decode())))


def test_export_writes_every_dataset_with_manifest_and_ddl_and_is_idempotent(s3, kb_bot, viewer, other_org):
    chat_answer(bot=kb_bot, message="When does the office open?\nAnd close?", user=viewer)
    chat_answer(bot=kb_bot, message="=cmd| zebras?", channel=Channel.PUBLIC, visitor_id=new_visitor_id())
    chat_answer(bot=other_org.bot, message="Globex question?", user=other_org.owner)
    day = timezone.now().astimezone(UTC).date()
    call_command("rollup_analytics", "--date", day.isoformat(), stdout=io.StringIO())
    out = io.StringIO()
    call_command("export_analytics", "--date", day.isoformat(), stdout=out)
    assert out.getvalue().count("rows") == len(DATASETS)

    for name, dataset in DATASETS.items():
        key = data_key("analytics", name, day)
        assert re.fullmatch(rf"analytics/{name}/dt=\d{{4}}-\d\d-\d\d/part-0000\.csv\.gz", key)
        rows = _read_gzip_csv(s3, key)
        assert list(rows[0]) if rows else True
        header = (
            gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode().splitlines()[0]
        )
        assert header == ",".join(column.name for column in dataset.columns)

        manifest = json.loads(
            s3.get_object(Bucket=BUCKET, Key=manifest_key("analytics", name))["Body"].read()
        )
        assert manifest["fileLocations"] == [{"URIPrefixes": [f"s3://{BUCKET}/analytics/{name}/"]}]
        assert manifest["globalUploadSettings"] == {
            "format": "CSV", "delimiter": ",", "textqualifier": '"', "containsHeader": "true"
        }  # fmt: skip
        ddl = s3.get_object(Bucket=BUCKET, Key=ddl_key("analytics", name))["Body"].read().decode()
        assert f"CREATE EXTERNAL TABLE IF NOT EXISTS `botwright_analytics`.`{name}`" in ddl
        assert "PARTITIONED BY (`dt` string)" in ddl and "'projection.dt.type' = 'date'" in ddl
        assert f"'storage.location.template' = 's3://{BUCKET}/analytics/{name}/dt=${{dt}}/'" in ddl
        assert "'skip.header.line.count' = '1'" in ddl
        declared = re.findall(r"^  `(\w+)` (\w+)", ddl, flags=re.M)
        assert [column for column, _ in declared] == [column.name for column in dataset.columns]
        assert ddl.count("(") == ddl.count(")")

    messages = _read_gzip_csv(s3, data_key("analytics", "messages", day))
    assert {row["org_id"] for row in messages} == {str(kb_bot.org_id), str(other_org.pk)}  # every org
    contents = [row["content"] for row in messages]
    assert "When does the office open? And close?" in contents  # one line per row for Athena
    assert "'=cmd| zebras?" in contents
    metrics = _read_gzip_csv(s3, data_key("analytics", "daily_metrics", day))
    assert sum(int(row["user_messages"]) for row in metrics) == 3

    # Re-running the day replaces it: same keys, same content, stray parts removed.
    s3.put_object(Bucket=BUCKET, Key=f"analytics/messages/dt={day}/part-0001.csv.gz", Body=b"stale")
    before = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    call_command("export_analytics", "--date", day.isoformat(), stdout=io.StringIO())
    after = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert after == [key for key in before if not key.endswith("part-0001.csv.gz")]
    assert _read_gzip_csv(s3, data_key("analytics", "messages", day)) == messages


def test_one_dataset_and_bad_arguments(s3, kb_bot):
    from django.core.management import CommandError

    out = io.StringIO()
    call_command("export_analytics", "--date", "2026-01-02", "--dataset", "documents", stdout=out)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert "analytics/documents/dt=2026-01-02/part-0000.csv.gz" in keys
    assert not any("/messages/" in key for key in keys)
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("export_analytics", "--date", "yesterday", stdout=out)
    with pytest.raises(CommandError, match="--from .* is after --to"):
        call_command("rollup_analytics", "--from", "2026-01-05", "--to", "2026-01-01", stdout=out)


def test_bootstrap_creates_then_verifies_the_analytics_prefix_and_lifecycle_rule(aws):
    s3 = boto3.client("s3", region_name=REGION)
    kwargs = dict(
        s3_client=s3, dynamodb_client=None, bucket=BUCKET, table="", cors_origins=[], region=REGION,
        analytics_prefix="analytics", analytics_retention_days=400,
    )  # fmt: skip
    planned = {
        (a.what, a.status) for a in bootstrap(**kwargs, dry_run=True) if a.resource.endswith("/analytics/")
    }
    assert planned == {("prefix", "would create"), ("lifecycle", "would create")}
    first = {
        (a.what, a.status) for a in bootstrap(**kwargs, dry_run=False) if a.resource.endswith("/analytics/")
    }
    assert first == {("prefix", "created"), ("lifecycle", "created")}
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert rules[ANALYTICS_RULE_ID]["Expiration"] == {"Days": 400}
    assert rules[ANALYTICS_RULE_ID]["Filter"] == {"Prefix": "analytics/"}
    assert len(rules) == 3  # the documents rules are kept beside it
    s3.head_object(Bucket=BUCKET, Key="analytics/")
    again = {
        (a.what, a.status) for a in bootstrap(**kwargs, dry_run=False) if a.resource.endswith("/analytics/")
    }
    assert again == {("prefix", "ok"), ("lifecycle", "ok")}
    changed = {
        (a.what, a.status)
        for a in bootstrap(**{**kwargs, "analytics_retention_days": 90}, dry_run=False)
        if a.resource.endswith("/analytics/")
    }
    assert ("lifecycle", "updated") in changed


def test_the_daily_event_is_scheduled_in_zappa_settings():
    from pathlib import Path

    settings_file = Path(__file__).resolve().parents[2] / "zappa_settings.json"
    stages = json.loads(settings_file.read_text())
    events = stages["dev"]["events"]
    daily = [event for event in events if event["function"] == "analytics.tasks.daily_analytics"]
    assert daily == [{"function": "analytics.tasks.daily_analytics", "expression": "cron(20 0 * * ? *)"}]
    assert "events" not in stages["production"]  # inherited from dev through "extends"
    from analytics.tasks import daily_analytics

    assert callable(daily_analytics)


def test_the_daily_job_rolls_up_and_exports_yesterday(s3, kb_bot, viewer):
    from datetime import timedelta
    from unittest import mock

    yesterday = timezone.now() - timedelta(days=1)
    with mock.patch("django.utils.timezone.now", return_value=yesterday):
        chat_answer(bot=kb_bot, message="When does the office open?", user=viewer)
    from analytics.tasks import daily_analytics

    result = daily_analytics({}, None)
    assert result["day"] == yesterday.astimezone(UTC).date().isoformat()
    assert sorted(result["exported"]) == sorted(DATASETS)
    rows = _read_gzip_csv(s3, data_key("analytics", "messages", yesterday.astimezone(UTC).date()))
    assert len(rows) == 2
