"""AWS bootstrap against moto (the vector index against botocore's Stubber): creates, converges,
reports drift, never touches a foreign table."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from django.core.management import CommandError, call_command

from integrations.aws_bootstrap import (
    ABORT_MULTIPART_RULE_ID,
    EXPIRE_NONCURRENT_RULE_ID,
    Action,
    bootstrap,
    format_actions,
)
from integrations.vectors.dynamodb import VECTOR_INDEX_NAME, table_definition, vector_index_definition

REGION = "eu-west-1"
BUCKET = "botwright-test-documents"
TABLE = "botwright-test-vectors"
ORIGINS = ["https://app.example.com", "http://localhost:5173"]
BUCKET_SETTINGS = ["bucket", "public access block", "versioning", "cors", "lifecycle"]


@pytest.fixture
def aws(aws: None) -> tuple[Any, Any]:
    """The S3 and DynamoDB clients of the moto account (tests/conftest.py's ``aws``) in REGION."""
    return boto3.client("s3", region_name=REGION), boto3.client("dynamodb", region_name=REGION)


def run(aws: tuple[Any, Any], **overrides: Any) -> list[Action]:
    s3, ddb = aws
    kwargs: dict[str, Any] = {
        "s3_client": s3,
        "dynamodb_client": ddb,
        "bucket": BUCKET,
        "table": TABLE,
        "cors_origins": ORIGINS,
        "region": REGION,
        "dry_run": False,
    }
    return bootstrap(**{**kwargs, **overrides})


def statuses(actions: list[Action]) -> dict[tuple[str, str], str]:
    return {(a.resource, a.what): a.status for a in actions}


def bucket_status(actions: list[Action], what: str) -> str:
    return statuses(actions)[(f"s3://{BUCKET}", what)]


def table_status(actions: list[Action], what: str) -> str:
    return statuses(actions)[(f"dynamodb:{TABLE}", what)]


def test_first_run_creates_the_bucket_its_settings_and_the_table(aws) -> None:
    s3, ddb = aws

    actions = run(aws)

    assert [bucket_status(actions, what) for what in BUCKET_SETTINGS] == ["created"] * 5
    assert table_status(actions, "table") == "created"
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == REGION
    assert all(s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
    assert sorted(rule["AllowedOrigins"]) == sorted(ORIGINS)
    assert sorted(rule["AllowedMethods"]) == ["GET", "POST", "PUT"]
    assert rule["ExposeHeaders"] == ["ETag"]
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert rules[ABORT_MULTIPART_RULE_ID]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rules[EXPIRE_NONCURRENT_RULE_ID]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    table = ddb.describe_table(TableName=TABLE)["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {
        "pk": "S",
        "sk": "S",
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_second_run_reports_everything_ok(aws) -> None:
    run(aws)

    actions = run(aws)

    assert len(actions) == 7  # five bucket settings, table, billing mode
    assert {a.status for a in actions} == {"ok"}


def test_dry_run_on_an_empty_account_creates_nothing(aws) -> None:
    s3, ddb = aws

    actions = run(aws, dry_run=True, point_in_time_recovery=True)

    assert [bucket_status(actions, what) for what in BUCKET_SETTINGS] == ["would create"] * 5
    assert table_status(actions, "table") == "would create"
    assert table_status(actions, "point-in-time recovery") == "would create"
    assert s3.list_buckets()["Buckets"] == []
    assert ddb.list_tables()["TableNames"] == []


def test_drifted_versioning_and_cors_are_updated(aws) -> None:
    s3, _ = aws
    run(aws)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_cors(
        Bucket=BUCKET,
        CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]},
    )

    actions = run(aws)

    assert bucket_status(actions, "versioning") == "updated"
    assert bucket_status(actions, "cors") == "updated"
    assert {a.status for a in actions if a.what not in {"versioning", "cors"}} == {"ok"}
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert sorted(s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"]) == sorted(ORIGINS)


def test_dry_run_reports_drift_without_fixing_it(aws) -> None:
    s3, _ = aws
    run(aws)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})

    actions = run(aws, dry_run=True, cors_origins=["https://new.example.com"])

    assert bucket_status(actions, "versioning") == "would update"
    assert bucket_status(actions, "cors") == "would update"
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Suspended"
    assert sorted(s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"]) == sorted(ORIGINS)


def test_changed_origins_update_cors(aws) -> None:
    s3, _ = aws
    run(aws)

    actions = run(aws, cors_origins=["https://builder.example.org"])

    assert bucket_status(actions, "cors") == "updated"
    assert s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"] == [
        "https://builder.example.org"
    ]


def test_public_access_block_turned_off_is_turned_back_on(aws) -> None:
    s3, _ = aws
    run(aws)
    s3.put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )

    actions = run(aws)

    (action,) = [a for a in actions if a.what == "public access block"]
    assert action.status == "updated"
    assert "BlockPublicPolicy" in action.detail
    assert all(s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"].values())


def test_lifecycle_drift_is_fixed_and_other_rules_are_kept(aws) -> None:
    s3, _ = aws
    run(aws)
    s3.put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": ABORT_MULTIPART_RULE_ID,
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                },
                {
                    "ID": "tmp-cleanup",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "tmp/"},
                    "Expiration": {"Days": 2},
                },
            ]
        },
    )

    actions = run(aws)

    assert bucket_status(actions, "lifecycle") == "updated"
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert set(rules) == {ABORT_MULTIPART_RULE_ID, EXPIRE_NONCURRENT_RULE_ID, "tmp-cleanup"}
    assert rules[ABORT_MULTIPART_RULE_ID]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1
    assert {a.status for a in run(aws)} == {"ok"}


def test_table_with_another_key_schema_is_an_error_and_left_untouched(aws) -> None:
    _, ddb = aws
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )

    actions = run(aws)

    (action,) = [a for a in actions if a.resource == f"dynamodb:{TABLE}"]
    assert action.status == "error"
    assert "id (S, HASH)" in action.detail
    assert "pk (S, HASH) + sk (S, RANGE)" in action.detail
    table = ddb.describe_table(TableName=TABLE)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"


def test_provisioned_table_is_switched_to_on_demand(aws) -> None:
    _, ddb = aws
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )

    actions = run(aws)

    assert table_status(actions, "table") == "ok"
    assert table_status(actions, "billing mode") == "updated"
    assert (
        ddb.describe_table(TableName=TABLE)["Table"]["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    )


def test_point_in_time_recovery_is_enabled_when_asked(aws) -> None:
    _, ddb = aws

    first = run(aws, point_in_time_recovery=True)
    second = run(aws, point_in_time_recovery=True)

    assert table_status(first, "point-in-time recovery") == "created"
    assert table_status(second, "point-in-time recovery") == "ok"
    backups = ddb.describe_continuous_backups(TableName=TABLE)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_us_east_1_bucket_is_created_without_a_location_constraint(aws) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    ddb = boto3.client("dynamodb", region_name="us-east-1")

    actions = run((s3, ddb), region="us-east-1", table="")

    assert bucket_status(actions, "bucket") == "created"
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] is None
    assert ddb.list_tables()["TableNames"] == []


def test_bucket_in_another_region_is_reported_not_modified(aws) -> None:
    s3, _ = aws
    boto3.client("s3", region_name="us-west-2").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )

    actions = run(aws, table="")

    assert [(a.what, a.status) for a in actions] == [("bucket", "error")]
    assert "us-west-2" in actions[0].detail and REGION in actions[0].detail
    assert s3.get_bucket_versioning(Bucket=BUCKET).get("Status") is None


def test_empty_cors_origins_leave_cors_alone(aws) -> None:
    s3, _ = aws

    actions = run(aws, cors_origins=[])

    assert bucket_status(actions, "cors") == "skipped"
    assert "CORS_ALLOWED_ORIGINS" in next(a.detail for a in actions if a.what == "cors")
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchCORSConfiguration"):
        s3.get_bucket_cors(Bucket=BUCKET)


def test_format_actions_prints_one_line_per_action_and_a_summary(aws) -> None:
    actions = run(aws)

    text = format_actions(actions)

    lines = text.splitlines()
    assert len(lines) == len(actions) + 1
    assert lines[0].split()[:3] == ["created", f"s3://{BUCKET}", "bucket"]
    assert lines[-1] == "6 created"  # the new table needs no billing-mode change
    assert format_actions(run(aws)).splitlines()[-1] == "7 ok"


# -- management command -----------------------------------------------------------------------------


@pytest.fixture
def aws_settings(settings):
    settings.AWS_STORAGE_BUCKET_NAME = BUCKET
    settings.DYNAMODB_VECTORS_TABLE = TABLE
    settings.AWS_REGION = REGION
    settings.AWS_ENDPOINT_URL = None
    settings.CORS_ALLOWED_ORIGINS = ORIGINS
    return settings


def test_command_creates_resources_and_prints_the_actions(aws, aws_settings) -> None:
    s3, ddb = aws
    out = io.StringIO()

    call_command("bootstrap_aws", stdout=out)

    # bucket + 4 settings + the analytics prefix and its lifecycle rule + the table
    assert out.getvalue().strip().splitlines()[-1] == "8 created"
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
    assert ddb.list_tables()["TableNames"] == [TABLE]


def test_command_dry_run_changes_nothing(aws, aws_settings) -> None:
    s3, _ = aws
    out = io.StringIO()

    call_command("bootstrap_aws", "--dry-run", "--skip-table", stdout=out)

    assert "Dry run" in out.getvalue()
    assert out.getvalue().strip().splitlines()[-1] == "7 would create"  # 5 for the bucket, 2 analytics
    assert s3.list_buckets()["Buckets"] == []


def test_command_fails_on_error_actions(aws, aws_settings) -> None:
    _, ddb = aws
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    out = io.StringIO()

    with pytest.raises(CommandError, match="error"):
        call_command("bootstrap_aws", stdout=out)
    assert "DYNAMODB_VECTORS_TABLE" in out.getvalue()


def test_command_requires_a_bucket_name(aws, aws_settings) -> None:
    aws_settings.AWS_STORAGE_BUCKET_NAME = ""

    with pytest.raises(CommandError, match="AWS_STORAGE_BUCKET_NAME"):
        call_command("bootstrap_aws", stdout=io.StringIO())


def test_point_in_time_recovery_is_turned_on_for_an_existing_table(aws) -> None:
    run(aws)

    actions = run(aws, point_in_time_recovery=True)

    assert table_status(actions, "point-in-time recovery") == "updated"
    assert "DISABLED -> ENABLED" in next(a.detail for a in actions if a.what == "point-in-time recovery")


# -- the vector index (moto does not implement it: botocore's Stubber checks the requests against the
#    real service model) ---------------------------------------------------------------------------

DIM = 384


@pytest.fixture
def stubbed_ddb(aws_credentials: None) -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("dynamodb", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _described(*, indexes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    table: dict[str, Any] = {
        "TableName": TABLE,
        "TableStatus": "ACTIVE",
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
    }
    if indexes is not None:
        table["VectorIndexes"] = indexes
    return {"Table": table}


def _table_only(client: Any, **overrides: Any) -> list[Action]:
    kwargs: dict[str, Any] = {
        "s3_client": None,
        "dynamodb_client": client,
        "bucket": "",
        "table": TABLE,
        "cors_origins": [],
        "region": REGION,
        "dry_run": False,
    }
    return bootstrap(**{**kwargs, **overrides})


def test_a_new_table_is_created_from_the_one_definition_with_its_vector_index(stubbed_ddb) -> None:
    client, stubber = stubbed_ddb
    stubber.add_client_error("describe_table", "ResourceNotFoundException")
    # The exact request the store's own create_table sends: the definition exists once.
    stubber.add_response(
        "create_table",
        {"TableDescription": {"TableName": TABLE}},
        table_definition(TABLE, vector_index_dim=DIM),
    )
    stubber.add_response("describe_table", _described(indexes=[vector_index_definition(DIM)]))

    actions = _table_only(client, vector_index_dim=DIM)

    assert table_status(actions, "table") == "created"
    assert f"vector index {VECTOR_INDEX_NAME} (384-d)" in actions[0].detail
    definition = table_definition(TABLE, vector_index_dim=DIM)
    assert {a["AttributeName"] for a in definition["AttributeDefinitions"]} == {"pk", "sk", "vp", "dg"}


def test_an_existing_table_without_the_index_gets_it_added(stubbed_ddb) -> None:
    client, stubber = stubbed_ddb
    stubber.add_response("describe_table", _described())
    stubber.add_response(
        "update_table",
        {"TableDescription": {"TableName": TABLE}},
        {
            "TableName": TABLE,
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "vp", "dg")
            ],
            "VectorIndexUpdates": [{"Create": vector_index_definition(DIM)}],
        },
    )

    actions = _table_only(client, vector_index_dim=DIM)

    assert table_status(actions, "vector index") == "created"
    assert "DYNAMODB_VECTOR_INDEX_THRESHOLD" in next(a.detail for a in actions if a.what == "vector index")


def test_a_matching_index_is_ok_and_a_dry_run_only_reports_a_missing_one(stubbed_ddb) -> None:
    client, stubber = stubbed_ddb
    live = {**vector_index_definition(DIM), "IndexStatus": "ACTIVE", "ItemCount": 10}
    stubber.add_response("describe_table", _described(indexes=[live]))
    assert table_status(_table_only(client, vector_index_dim=DIM), "vector index") == "ok"

    stubber.add_response("describe_table", _described())  # no update_table expected
    actions = _table_only(client, vector_index_dim=DIM, dry_run=True)
    assert table_status(actions, "vector index") == "would create"


def test_an_index_of_another_dimension_is_an_error_and_left_alone(stubbed_ddb) -> None:
    client, stubber = stubbed_ddb
    stubber.add_response("describe_table", _described(indexes=[vector_index_definition(768)]))

    actions = _table_only(client, vector_index_dim=DIM)

    assert table_status(actions, "vector index") == "error"
    assert "Dimensions" in next(a.detail for a in actions if a.what == "vector index")


def test_without_a_dimension_the_index_is_not_checked(stubbed_ddb) -> None:
    client, stubber = stubbed_ddb
    stubber.add_response("describe_table", _described())

    actions = _table_only(client)

    assert ("dynamodb:" + TABLE, "vector index") not in statuses(actions)


@pytest.mark.parametrize(
    ("threshold", "flags", "expected_dim"),
    [
        (None, [], None),
        (1000, [], DIM),
        (1000, ["--no-vector-index"], None),
        (None, ["--vector-index"], DIM),
    ],
)
def test_command_creates_the_index_when_the_threshold_is_set_or_asked(
    aws_settings, monkeypatch, threshold, flags, expected_dim
) -> None:
    from integrations.management.commands import bootstrap_aws

    aws_settings.DYNAMODB_VECTOR_INDEX_THRESHOLD = threshold
    aws_settings.EMBEDDER = "fake"  # its dimension is 384 too; the index must match the embedder
    seen: dict[str, Any] = {}

    def fake_bootstrap(**kwargs: Any) -> list[Action]:
        seen.update(kwargs)
        return [Action(f"dynamodb:{TABLE}", "table", "ok")]

    monkeypatch.setattr(bootstrap_aws, "bootstrap", fake_bootstrap)
    call_command("bootstrap_aws", *flags, stdout=io.StringIO())

    assert seen["vector_index_dim"] == expected_dim
