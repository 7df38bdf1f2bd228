"""The daily analytics job: rebuild yesterday's rollup, then write yesterday to the S3 feed.

Scheduled on Lambda by the Zappa `events` entry in zappa_settings.json (00:20 UTC); locally
`manage.py rollup_analytics` and `manage.py export_analytics` do the same by hand.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, timedelta

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


def yesterday() -> date:
    return timezone.now().astimezone(UTC).date() - timedelta(days=1)


def rollup_days(days: list[date]) -> dict[str, int]:
    from tenants.models import Organization

    from .services import analytics_rebuild

    done = {"orgs": 0, "days": len(days)}
    for org in Organization.objects.order_by("pk").iterator():
        for day in days:
            analytics_rebuild(org=org, day=day)
        done["orgs"] += 1
    return done


def s3_client():
    import boto3
    from botocore.config import Config

    endpoint = settings.AWS_ENDPOINT_URL or None
    config = Config(s3={"addressing_style": "path"}) if endpoint else None
    return boto3.client("s3", region_name=settings.AWS_REGION, endpoint_url=endpoint, config=config)


def export_day(day: date, datasets: list[str], s3=None) -> list[dict]:
    from .feed import feed_export

    return feed_export(
        s3=s3 or s3_client(),
        bucket=settings.ANALYTICS_BUCKET,
        prefix=settings.ANALYTICS_PREFIX,
        day=day,
        datasets=datasets,
        database=settings.ANALYTICS_ATHENA_DATABASE,
        start=settings.ANALYTICS_FEED_START,
    )


def daily_analytics(event=None, context=None) -> dict:
    """Zappa event handler: yesterday's rollup, then yesterday's feed (when a bucket is configured)."""
    from .exports import DATASETS

    day = yesterday()
    result = {"day": day.isoformat(), "rollup": rollup_days([day])}
    if settings.ANALYTICS_BUCKET:
        result["exported"] = [item["dataset"] for item in export_day(day, sorted(DATASETS))]
    logger.info("daily analytics finished", extra=result)
    return result
