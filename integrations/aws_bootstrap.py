"""Idempotent set-up of the AWS resources Botwright needs: the documents bucket and the vectors table.

`bootstrap(...)` compares what exists with what Botwright needs and creates or corrects only the
difference, returning one `Action` per checked setting; a second run reports everything "ok".
With `dry_run=True` it only reads and reports "would create"/"would update".

Desired state
- S3 bucket (in `region`): all four public-access-block flags on; versioning Enabled (an overwritten
  or deleted document can be recovered); one CORS rule allowing GET/PUT/POST from `cors_origins`
  with `ETag` exposed (browsers upload straight to S3 with presigned URLs and need the ETag of each
  multipart part); lifecycle rules that abort incomplete multipart uploads after 1 day and expire
  noncurrent versions after 30 days. Lifecycle rules with other IDs are kept.
- DynamoDB table: `pk` (S, HASH) + `sk` (S, RANGE), on-demand billing; point-in-time recovery when
  asked. A table with another key schema is never touched: it is reported as an error.
- Analytics feed (when `analytics_prefix` is given): the prefix's folder marker (`<prefix>/`) in the
  analytics bucket (the documents bucket unless another is named, which must already exist) and a
  lifecycle rule expiring the daily exports under it after `analytics_retention_days`.

Django-free: the caller passes boto3 clients (`manage.py bootstrap_aws` builds them from settings).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

CREATED = "created"
UPDATED = "updated"
OK = "ok"
WOULD_CREATE = "would create"
WOULD_UPDATE = "would update"
SKIPPED = "skipped"
ERROR = "error"
_STATUS_ORDER = (CREATED, UPDATED, OK, WOULD_CREATE, WOULD_UPDATE, SKIPPED, ERROR)

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
CORS_METHODS = ["GET", "POST", "PUT"]
CORS_MAX_AGE_S = 3000
ABORT_MULTIPART_RULE_ID = "botwright-abort-incomplete-multipart-uploads"
EXPIRE_NONCURRENT_RULE_ID = "botwright-expire-noncurrent-versions"
ABORT_MULTIPART_AFTER_DAYS = 1
NONCURRENT_VERSION_DAYS = 30
TABLE_KEY_SCHEMA = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]
TABLE_ATTRIBUTES = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
]
ANALYTICS_RULE_ID = "botwright-expire-analytics-exports"
_MISSING_BUCKET_CODES = {"404", "NoSuchBucket", "NotFound"}
_NO_CORS_ORIGINS = "CORS_ALLOWED_ORIGINS is empty, so browsers cannot upload directly; left unchanged"


class Action(NamedTuple):
    """One checked setting: `status` is one of created/updated/ok/would create/would update/
    skipped/error; `detail` says what changed or, for errors, what is wrong and what to do."""

    resource: str
    what: str
    status: str
    detail: str = ""


class _Stop(Exception):
    """A resource-level problem after which its settings cannot be checked."""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class _Reconciler:
    """Records actions and performs a change only when not in dry-run mode."""

    def __init__(self, *, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.actions: list[Action] = []

    def add(self, resource: str, what: str, status: str, detail: str = "") -> None:
        self.actions.append(Action(resource, what, status, detail))

    def apply(
        self,
        resource: str,
        what: str,
        *,
        exists: bool,
        matches: bool,
        change: Callable[[], Any],
        detail: str = "",
    ) -> None:
        """Report `ok` when the setting matches; otherwise run `change` (unless dry-run)."""
        if matches:
            self.add(resource, what, OK)
            return
        if not self.dry_run:
            change()
        if exists:
            self.add(resource, what, WOULD_UPDATE if self.dry_run else UPDATED, detail)
        else:
            self.add(resource, what, WOULD_CREATE if self.dry_run else CREATED, detail)

    def guarded(self, resource: str, what: str, step: Callable[[], None]) -> None:
        """Run one check; an AWS error becomes an error action so the remaining checks still run."""
        try:
            step()
        except ClientError as exc:
            self.add(resource, what, ERROR, f"{_code(exc)}: {exc}")


def bootstrap(
    *,
    s3_client: Any,
    dynamodb_client: Any,
    bucket: str,
    table: str,
    cors_origins: list[str],
    region: str,
    dry_run: bool,
    point_in_time_recovery: bool = False,
    analytics_bucket: str = "",
    analytics_prefix: str = "",
    analytics_retention_days: int = 0,
) -> list[Action]:
    """Bring the bucket and the table to the desired state (see module docstring); idempotent.

    An empty `bucket` or `table` skips that resource. Never raises for AWS errors: they are
    returned as actions with status "error" (the management command exits non-zero on them).
    """
    rec = _Reconciler(dry_run=dry_run)
    if bucket:
        _bootstrap_bucket(rec, s3_client, bucket=bucket, cors_origins=cors_origins, region=region)
    if analytics_prefix and (analytics_bucket or bucket):
        _bootstrap_analytics(
            rec,
            s3_client,
            bucket=analytics_bucket or bucket,
            new_bucket=rec.dry_run
            and any(
                a.what == "bucket"
                and a.status == WOULD_CREATE
                and a.resource == f"s3://{analytics_bucket or bucket}"
                for a in rec.actions
            ),
            prefix=analytics_prefix.strip("/"),
            retention_days=analytics_retention_days,
        )
    if table:
        _bootstrap_table(rec, dynamodb_client, table=table, point_in_time_recovery=point_in_time_recovery)
    return rec.actions


# --- S3 ----------------------------------------------------------------------------------------


def _bootstrap_bucket(
    rec: _Reconciler, s3: Any, *, bucket: str, cors_origins: list[str], region: str
) -> None:
    resource = f"s3://{bucket}"
    try:
        exists = _bucket_exists(s3, bucket)
        if exists:
            _check_bucket_region(s3, bucket, region)
    except _Stop as exc:
        rec.add(resource, "bucket", ERROR, str(exc))
        return
    except ClientError as exc:
        rec.add(resource, "bucket", ERROR, f"{_code(exc)}: {exc}")
        return

    def create() -> None:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        # us-east-1 is the default location and S3 rejects it as an explicit LocationConstraint.
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**kwargs)
        except ClientError as exc:
            if _code(exc) != "BucketAlreadyOwnedByYou":  # created concurrently by us: fine
                raise

    try:
        rec.apply(resource, "bucket", exists=False, matches=exists, change=create, detail=f"in {region}")
    except ClientError as exc:
        hint = " (bucket names are global: pick another name)" if _code(exc) == "BucketAlreadyExists" else ""
        rec.add(resource, "bucket", ERROR, f"{_code(exc)}: {exc}{hint}")
        return

    if not exists and rec.dry_run:
        # Nothing to read yet: every setting would be created with the bucket.
        rec.add(resource, "public access block", WOULD_CREATE)
        rec.add(resource, "versioning", WOULD_CREATE)
        if cors_origins:
            rec.add(resource, "cors", WOULD_CREATE)
        else:
            rec.add(resource, "cors", SKIPPED, _NO_CORS_ORIGINS)
        rec.add(resource, "lifecycle", WOULD_CREATE)
        return

    rec.guarded(resource, "public access block", lambda: _public_access_block(rec, s3, bucket, resource))
    rec.guarded(resource, "versioning", lambda: _versioning(rec, s3, bucket, resource))
    rec.guarded(resource, "cors", lambda: _cors(rec, s3, bucket, resource, cors_origins))
    rec.guarded(resource, "lifecycle", lambda: _lifecycle(rec, s3, bucket, resource))


def _bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = _code(exc)
        if code in _MISSING_BUCKET_CODES:
            return False
        if code in {"403", "AccessDenied", "Forbidden"}:
            raise _Stop(
                "the bucket exists but these credentials cannot access it (another account owns it, or "
                "the role lacks s3:ListBucket); choose another AWS_STORAGE_BUCKET_NAME or fix the policy"
            )
        if code in {"301", "PermanentRedirect"}:
            raise _Stop(f"the bucket is in another region than {s3.meta.region_name}; set AWS_REGION to it")
        raise
    return True


def _check_bucket_region(s3: Any, bucket: str, region: str) -> None:
    # Presigned URLs are signed for AWS_REGION; a bucket elsewhere makes every upload fail.
    location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    location = "eu-west-1" if location == "EU" else location  # legacy alias
    if region and location != region:
        raise _Stop(f"the bucket is in {location} but AWS_REGION is {region}; use the same region")


def _public_access_block(rec: _Reconciler, s3: Any, bucket: str, resource: str) -> None:
    try:
        current = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        exists = True
    except ClientError as exc:
        if _code(exc) != "NoSuchPublicAccessBlockConfiguration":
            raise
        current, exists = {}, False
    off = sorted(flag for flag, value in PUBLIC_ACCESS_BLOCK.items() if current.get(flag) is not value)
    rec.apply(
        resource,
        "public access block",
        exists=exists,
        matches=not off,
        change=lambda: s3.put_public_access_block(
            Bucket=bucket, PublicAccessBlockConfiguration=dict(PUBLIC_ACCESS_BLOCK)
        ),
        detail="turn on " + ", ".join(off),
    )


def _versioning(rec: _Reconciler, s3: Any, bucket: str, resource: str) -> None:
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status")  # absent until first configured
    rec.apply(
        resource,
        "versioning",
        exists=status is not None,
        matches=status == "Enabled",
        change=lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}),
        detail=f"{status or 'never enabled'} -> Enabled",
    )


def desired_cors_rules(cors_origins: Iterable[str]) -> list[dict[str, Any]]:
    return [
        {
            "AllowedOrigins": sorted(set(cors_origins)),
            "AllowedMethods": list(CORS_METHODS),
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": CORS_MAX_AGE_S,
        }
    ]


def _normalise_cors(rules: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = ("AllowedOrigins", "AllowedMethods", "AllowedHeaders", "ExposeHeaders")
    return sorted(
        (*(tuple(sorted(rule.get(key) or [])) for key in keys), rule.get("MaxAgeSeconds")) for rule in rules
    )


def _cors(rec: _Reconciler, s3: Any, bucket: str, resource: str, cors_origins: list[str]) -> None:
    if not cors_origins:
        # Without origins there is nothing to allow; an existing configuration is left alone.
        rec.add(resource, "cors", SKIPPED, _NO_CORS_ORIGINS)
        return
    try:
        current = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
        exists = True
    except ClientError as exc:
        if _code(exc) != "NoSuchCORSConfiguration":
            raise
        current, exists = [], False
    desired = desired_cors_rules(cors_origins)
    rec.apply(
        resource,
        "cors",
        exists=exists,
        matches=_normalise_cors(current) == _normalise_cors(desired),
        change=lambda: s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": desired}),
        detail="allow GET/PUT/POST from " + ", ".join(desired[0]["AllowedOrigins"]),
    )


def desired_lifecycle_rules() -> list[dict[str, Any]]:
    return [
        {
            "ID": ABORT_MULTIPART_RULE_ID,
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_AFTER_DAYS},
        },
        {
            "ID": EXPIRE_NONCURRENT_RULE_ID,
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_VERSION_DAYS},
        },
    ]


def _normalise_rule(rule: dict[str, Any]) -> dict[str, Any]:
    # S3 echoes a whole-bucket filter as {"Prefix": ""}, {} or a legacy top-level Prefix.
    out = {key: value for key, value in rule.items() if key not in {"Filter", "Prefix"}}
    rule_filter = dict(rule.get("Filter") or {})
    out["Prefix"] = rule_filter.pop("Prefix", None) or rule.get("Prefix") or ""
    out["OtherFilter"] = rule_filter
    return out


def _lifecycle(rec: _Reconciler, s3: Any, bucket: str, resource: str) -> None:
    try:
        current = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        exists = True
    except ClientError as exc:
        if _code(exc) != "NoSuchLifecycleConfiguration":
            raise
        current, exists = [], False
    desired = desired_lifecycle_rules()
    ours = {rule["ID"] for rule in desired}
    current_ours = sorted(
        (_normalise_rule(rule) for rule in current if rule.get("ID") in ours), key=lambda r: r["ID"]
    )
    wanted = sorted((_normalise_rule(rule) for rule in desired), key=lambda r: r["ID"])
    others = [rule for rule in current if rule.get("ID") not in ours]
    rec.apply(
        resource,
        "lifecycle",
        exists=exists and bool(current_ours),
        matches=current_ours == wanted,
        change=lambda: s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": others + desired}
        ),
        detail=(
            f"abort incomplete multipart uploads after {ABORT_MULTIPART_AFTER_DAYS} day, "
            f"expire noncurrent versions after {NONCURRENT_VERSION_DAYS} days"
        ),
    )


# --- Analytics feed ----------------------------------------------------------------------------


def desired_analytics_rule(prefix: str, days: int) -> dict[str, Any]:
    return {
        "ID": ANALYTICS_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": f"{prefix}/"},
        "Expiration": {"Days": days},
    }


def _bootstrap_analytics(
    rec: _Reconciler, s3: Any, *, bucket: str, new_bucket: bool, prefix: str, retention_days: int
) -> None:
    resource = f"s3://{bucket}/{prefix}/"
    if new_bucket:  # dry run before the bucket exists: nothing to read
        rec.add(resource, "prefix", WOULD_CREATE)
        if retention_days:
            rec.add(resource, "lifecycle", WOULD_CREATE)
        return
    try:
        _bucket_exists(s3, bucket) or _raise_stop(
            f"the analytics bucket {bucket} does not exist; create it, or leave ANALYTICS_BUCKET empty to "
            "use the documents bucket"
        )
    except (_Stop, ClientError) as exc:
        rec.add(resource, "prefix", ERROR, str(exc))
        return
    rec.guarded(resource, "prefix", lambda: _analytics_marker(rec, s3, bucket, prefix, resource))
    if retention_days:
        rec.guarded(
            resource,
            "lifecycle",
            lambda: _analytics_lifecycle(rec, s3, bucket, prefix, retention_days, resource),
        )


def _raise_stop(message: str) -> bool:
    raise _Stop(message)


def _analytics_marker(rec: _Reconciler, s3: Any, bucket: str, prefix: str, resource: str) -> None:
    # S3 has no folders; an empty "<prefix>/" object makes the feed's home visible (console, Athena
    # and QuickSight pickers) before the first daily export.
    key = f"{prefix}/"
    try:
        s3.head_object(Bucket=bucket, Key=key)
        exists = True
    except ClientError as exc:
        if _code(exc) not in {"404", "NoSuchKey", "NotFound"}:
            raise
        exists = False
    rec.apply(
        resource,
        "prefix",
        exists=False,
        matches=exists,
        change=lambda: s3.put_object(Bucket=bucket, Key=key, Body=b""),
        detail="folder marker for the analytics feed",
    )


def _analytics_lifecycle(
    rec: _Reconciler, s3: Any, bucket: str, prefix: str, days: int, resource: str
) -> None:
    try:
        current = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as exc:
        if _code(exc) != "NoSuchLifecycleConfiguration":
            raise
        current = []
    desired = desired_analytics_rule(prefix, days)
    ours = [rule for rule in current if rule.get("ID") == ANALYTICS_RULE_ID]
    others = [rule for rule in current if rule.get("ID") != ANALYTICS_RULE_ID]
    rec.apply(
        resource,
        "lifecycle",
        exists=bool(ours),
        matches=[_normalise_rule(rule) for rule in ours] == [_normalise_rule(desired)],
        change=lambda: s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": others + [desired]}
        ),
        detail=f"expire analytics exports after {days} days",
    )


# --- DynamoDB --------------------------------------------------------------------------------


def _bootstrap_table(rec: _Reconciler, ddb: Any, *, table: str, point_in_time_recovery: bool) -> None:
    resource = f"dynamodb:{table}"
    try:
        description: dict[str, Any] | None = ddb.describe_table(TableName=table)["Table"]
    except ClientError as exc:
        if _code(exc) != "ResourceNotFoundException":
            rec.add(resource, "table", ERROR, f"{_code(exc)}: {exc}")
            return
        description = None

    if description is None:

        def create() -> None:
            ddb.create_table(
                TableName=table,
                KeySchema=TABLE_KEY_SCHEMA,
                AttributeDefinitions=TABLE_ATTRIBUTES,
                BillingMode="PAY_PER_REQUEST",
            )
            # Point-in-time recovery can only be configured on an ACTIVE table.
            ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 2, "MaxAttempts": 60})

        rec.guarded(
            resource,
            "table",
            lambda: rec.apply(
                resource,
                "table",
                exists=False,
                matches=False,
                change=create,
                detail="pk (S) + sk (S), on-demand",
            ),
        )
        if point_in_time_recovery:
            if rec.dry_run:
                rec.add(resource, "point-in-time recovery", WOULD_CREATE)
            elif rec.actions[-1].status != ERROR:
                rec.guarded(
                    resource, "point-in-time recovery", lambda: _pitr(rec, ddb, table, resource, new=True)
                )
        return

    problem = _key_schema_problem(description)
    if problem:
        rec.add(resource, "table", ERROR, problem)
        return
    rec.add(resource, "table", OK)

    billing = (description.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    rec.guarded(
        resource,
        "billing mode",
        lambda: rec.apply(
            resource,
            "billing mode",
            exists=True,
            matches=billing == "PAY_PER_REQUEST",
            change=lambda: ddb.update_table(TableName=table, BillingMode="PAY_PER_REQUEST"),
            detail=f"{billing} -> PAY_PER_REQUEST (on-demand)",
        ),
    )
    if point_in_time_recovery:
        rec.guarded(resource, "point-in-time recovery", lambda: _pitr(rec, ddb, table, resource))


def _key_schema_problem(description: dict[str, Any]) -> str:
    key_schema = {(k["AttributeName"], k["KeyType"]) for k in description.get("KeySchema", [])}
    types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
    if key_schema == {("pk", "HASH"), ("sk", "RANGE")} and types.get("pk") == types.get("sk") == "S":
        return ""
    found = ", ".join(f"{name} ({types.get(name, '?')}, {kind})" for name, kind in sorted(key_schema))
    return (
        f"the table exists with key schema {found}, but Botwright needs pk (S, HASH) + sk (S, RANGE); "
        "it was left untouched: set DYNAMODB_VECTORS_TABLE to another name or remove that table"
    )


def _pitr(rec: _Reconciler, ddb: Any, table: str, resource: str, *, new: bool = False) -> None:
    backups = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    status = (backups.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus")
    rec.apply(
        resource,
        "point-in-time recovery",
        exists=not new,
        matches=status == "ENABLED",
        change=lambda: ddb.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        ),
        detail=f"{status or 'DISABLED'} -> ENABLED",
    )


# --- output ----------------------------------------------------------------------------------


def format_actions(actions: list[Action]) -> str:
    """A fixed-width table of the actions plus a one-line summary, for terminals and CI logs."""
    if not actions:
        return "Nothing to check (no bucket or table configured)."
    widths = [max(len(a[i]) for a in actions) for i in range(3)]
    lines = [
        f"{a.status:<{widths[2]}}  {a.resource:<{widths[0]}}  {a.what:<{widths[1]}}  {a.detail}".rstrip()
        for a in actions
    ]
    counts = Counter(a.status for a in actions)
    summary = ", ".join(f"{counts[status]} {status}" for status in _STATUS_ORDER if counts[status])
    return "\n".join([*lines, summary])


def has_errors(actions: Iterable[Action]) -> bool:
    return any(action.status == ERROR for action in actions)
