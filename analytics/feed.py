"""The QuickSight / Athena feed: each dataset of a UTC day as a gzip CSV in S3, with a QuickSight
manifest and an Athena (Glue) table definition per dataset.

Layout under `s3://<ANALYTICS_BUCKET>/<ANALYTICS_PREFIX>/`:

    <dataset>/dt=YYYY-MM-DD/part-0000.csv.gz      one file per dataset and day, header row, every org
    _meta/<dataset>/quicksight-manifest.json      S3 data source: the dataset's prefix, CSV settings
    _meta/<dataset>/athena-table.sql              CREATE EXTERNAL TABLE with partition projection on dt

Re-exporting a day replaces its files (anything else under that day's prefix is deleted), so the
daily job is idempotent. Text cells are written on one line (line breaks folded into spaces):
Athena's CSV reader cannot read a line break inside a quoted cell. Files are built in a spooled
temporary file (memory up to 8 MB, then disk) and uploaded with boto3's managed multipart upload.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from datetime import date
from typing import Any

from tenants.models import Organization

from .exports import DATASETS, Dataset, Window, stream_csv

PART = "part-0000.csv.gz"
ATHENA_TYPES = {"int": "bigint", "float": "double", "bool": "boolean"}


def data_prefix(prefix: str, dataset: str) -> str:
    return f"{prefix}/{dataset}/"


def data_key(prefix: str, dataset: str, day: date) -> str:
    return f"{prefix}/{dataset}/dt={day.isoformat()}/{PART}"


def manifest_key(prefix: str, dataset: str) -> str:
    return f"{prefix}/_meta/{dataset}/quicksight-manifest.json"


def ddl_key(prefix: str, dataset: str) -> str:
    return f"{prefix}/_meta/{dataset}/athena-table.sql"


def quicksight_manifest(*, bucket: str, prefix: str, dataset: str) -> dict[str, Any]:
    """A QuickSight S3 manifest reading every day of one dataset (the `_meta` folder is outside it)."""
    return {
        "fileLocations": [{"URIPrefixes": [f"s3://{bucket}/{data_prefix(prefix, dataset)}"]}],
        "globalUploadSettings": {
            "format": "CSV",
            "delimiter": ",",
            "textqualifier": '"',
            "containsHeader": "true",
        },
    }


def athena_ddl(*, bucket: str, prefix: str, dataset: Dataset, database: str, start: str) -> str:
    """`CREATE EXTERNAL TABLE` over one dataset, partitioned by `dt` with partition projection (no
    crawler or `MSCK REPAIR` needed: Athena computes the day folders from the template)."""
    location = f"s3://{bucket}/{data_prefix(prefix, dataset.name)}"
    columns = ",\n".join(
        f"  `{column.name}` {ATHENA_TYPES.get(column.kind, 'string')} COMMENT '{_comment(column)}'"
        for column in dataset.columns
    )
    return f"""CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{dataset.name}` (
{columns}
)
COMMENT '{dataset.description.replace("'", "")}'
PARTITIONED BY (`dt` string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\\\\')
STORED AS TEXTFILE
LOCATION '{location}'
TBLPROPERTIES (
  'skip.header.line.count' = '1',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '{start},NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = '{location}dt=${{dt}}/'
);
"""


def _comment(column) -> str:
    note = column.description.replace("'", "")
    if column.kind == "timestamp":
        note += " ISO-8601 UTC: from_iso8601_timestamp()."
    return note


def _write_day(dataset: Dataset, day: date, target) -> int:
    """Every org's rows of `dataset` for `day` as gzip CSV into `target`; returns the row count."""
    rows = 0
    with gzip.GzipFile(fileobj=target, mode="wb", mtime=0) as gz:
        gz.write((",".join(column.name for column in dataset.columns) + "\n").encode())
        for org in Organization.objects.order_by("pk").iterator():
            for block in stream_csv(
                dataset, Window(org=org, start=day, end=day), header=False, single_line=True
            ):
                rows += block.count(b"\n")
                gz.write(block)
    return rows


def feed_export(
    *, s3: Any, bucket: str, prefix: str, day: date, datasets: list[str], database: str, start: str
) -> list[dict[str, Any]]:
    """Write `datasets` for `day` (and their manifest and DDL) to S3; returns what was written."""
    written = []
    for name in datasets:
        dataset = DATASETS[name]
        key = data_key(prefix, name, day)
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
            rows = _write_day(dataset, day, spool)
            size = spool.tell()
            spool.seek(0)
            s3.upload_fileobj(spool, bucket, key, ExtraArgs={"ContentType": "text/csv"})
        _delete_others(s3, bucket, key.rsplit("/", 1)[0] + "/", keep=key)
        s3.put_object(
            Bucket=bucket,
            Key=manifest_key(prefix, name),
            Body=json.dumps(
                quicksight_manifest(bucket=bucket, prefix=prefix, dataset=name), indent=2
            ).encode(),
            ContentType="application/json",
        )
        s3.put_object(
            Bucket=bucket,
            Key=ddl_key(prefix, name),
            Body=athena_ddl(
                bucket=bucket, prefix=prefix, dataset=dataset, database=database, start=start
            ).encode(),
            ContentType="text/plain",
        )
        written.append({"dataset": name, "key": key, "rows": rows, "bytes": size})
    return written


def _delete_others(s3: Any, bucket: str, folder: str, *, keep: str) -> None:
    """A day re-exported replaces the day: older parts under its folder go."""
    paginator = s3.get_paginator("list_objects_v2")
    stale = [
        {"Key": item["Key"]}
        for page in paginator.paginate(Bucket=bucket, Prefix=folder)
        for item in page.get("Contents", [])
        if item["Key"] != keep
    ]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": stale[start : start + 1000], "Quiet": True})
