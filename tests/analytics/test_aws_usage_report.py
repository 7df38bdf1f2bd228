"""`aws_usage_report`: the estimate's arithmetic on known activity (no database), then the command
on seeded records (chat turns through the rollup, a processed document, a second idle org)."""

from __future__ import annotations

import copy
import io
import json
import math

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from analytics.aws_costs import (
    BILLED,
    GB,
    NEAR,
    OK,
    OVER,
    Deployment,
    OrgActivity,
    estimate,
    invocations_per_month,
    recommend_memory,
)
from chat.models import Message
from chat.services import chat_answer
from documents.models import Chunk
from integrations.llm.fake import FakeChatModel
from tests.factories import make_org

# The documented table (settings.AWS_USAGE_TABLE), with the assumptions these figures rely on pinned.
TABLE = copy.deepcopy(django_settings.AWS_USAGE_TABLE)
TABLE["assumptions"].update(
    warn_ratio=0.8,
    api_calls_per_upload=1,
    scheduled_invocation_s=2.0,
    vector_dim=384,
    item_overhead_bytes=150,
    min_memory_mb=1024,
    processing_timeout_share=0.5,
)
FREE, PRICE = TABLE["free_tier"], TABLE["prices"]
DEPLOYMENT = Deployment(
    memory_mb=2048,
    timeout_s=300,
    schedules=("rate(15 minutes)", "cron(20 0 * * ? *)"),
    month_hours=720.0,
    database_bytes=GB,
    distinct_active_users=3,
)


def activities() -> list[OrgActivity]:
    busy = OrgActivity(
        "a",
        "Busy",
        chat_turns=1000,
        chat_latency_ms=1_500_000,  # 1.5 s a turn
        vector_bytes_read=81_920_000,
        documents_uploaded=1700,
        documents_processed=20,
        processing_seconds=[10.0] * 20,
        chunks_written=10,
        chunk_text_bytes_written=9000,
        chunks_kept=1000,
        chunk_text_bytes_kept=900_000,
        storage_bytes=6 * GB,
        active_users=2,
    )
    return [busy, OrgActivity("b", "Idle", active_users=1)]


def lines(report):
    return {line.key: line for line in report.lines}


def test_a_past_month_adds_org_usage_to_the_shared_load():
    report = estimate(activities(), DEPLOYMENT, TABLE)
    got = lines(report)
    scheduled = 720 * 4 + 30
    assert got["lambda_requests"].used == 1000 + 20 + scheduled
    # 1,500 s of turns + 200 s of processing + 2 s per scheduled run, at 2 GB.
    assert got["lambda_gb_seconds"].used == pytest.approx((1500 + 200 + scheduled * 2) * 2)
    assert got["api_gateway_requests"].used == 1000 + 1700
    assert got["dynamodb_read_units"].used == 81_920_000 / 8192  # eventually consistent: ½ RRU per 4 KB
    # Text items of 900 + 150 bytes are 2 WRU each; 10 float32 vectors of 384 are 15 KB of blocks.
    assert got["dynamodb_write_units"].used == 10 * 2 + 15
    assert got["dynamodb_storage_gb"].used == pytest.approx((900_000 + 1000 * (1536 + 150)) / GB)
    assert (got["s3_put_requests"].used, got["s3_get_requests"].used) == (1700, 20)
    assert (got["rds_instance_hours"].used, got["rds_storage_gb"].used) == (720, 1)
    assert got["cognito_mau"].used == 3  # distinct across orgs, not the per-org sum
    assert all(line.projected == line.used for line in report.lines)


def test_lines_past_or_near_their_allowance_are_flagged_and_priced():
    got = lines(estimate(activities(), DEPLOYMENT, TABLE))
    assert FREE["s3_storage_gb"] == 5 and FREE["s3_put_requests"] == 2000
    assert got["s3_storage_gb"].status == OVER
    assert got["s3_storage_gb"].cost_usd == pytest.approx(PRICE["s3_storage_gb"])  # 1 GB past 5
    assert got["s3_put_requests"].status == NEAR  # 1,700 of 2,000
    # One instance all month is 96 % of 750 h: a second one (or Multi-AZ) would leave the free tier.
    assert got["rds_instance_hours"].status == NEAR
    assert got["rds_storage_gb"].status == OK
    assert got["dynamodb_write_units"].status == BILLED  # on-demand has no free units
    assert got["dynamodb_write_units"].cost_usd == pytest.approx(35 * PRICE["dynamodb_write_units"])
    assert got["lambda_requests"].status == OK and got["lambda_requests"].cost_usd == 0


def test_the_current_month_is_projected_to_its_end_except_what_is_held():
    half = Deployment(**{**DEPLOYMENT.__dict__, "month_fraction": 0.5, "month_hours": 360.0})
    got = lines(estimate(activities(), half, TABLE))
    assert got["api_gateway_requests"].projected == 2 * 2700
    assert got["s3_put_requests"].projected == 3400 and got["s3_put_requests"].status == OVER
    assert got["s3_storage_gb"].projected == got["s3_storage_gb"].used == 6
    assert got["rds_instance_hours"].projected == 720
    assert got["cognito_mau"].projected == 3


def test_usage_is_attributed_to_the_org_that_caused_it():
    report = estimate(activities(), DEPLOYMENT, TABLE)
    busy, idle = report.orgs
    assert (busy["org"], busy["chat_turns"], busy["lambda_requests"]) == ("Busy", 1000, 1020)
    assert busy["lambda_gb_seconds"] == pytest.approx(1700 * 2)
    assert busy["list_cost_usd"] > 0
    assert (idle["lambda_requests"], idle["s3_storage_gb"], idle["cognito_mau"]) == (0, 0, 1)
    assert idle["list_cost_usd"] == pytest.approx(PRICE["cognito_mau"])


def test_memory_goes_down_to_the_floor_when_processing_has_room():
    rec = recommend_memory(activities(), DEPLOYMENT, TABLE["assumptions"])
    assert (rec.current_mb, rec.recommended_mb) == (2048, 1024)
    # 10 s at one vCPU is 17.3 s at 1,024 MB; chat turns are billed for half the memory.
    assert rec.processing_p95_s == 10.0
    assert rec.gb_seconds_now == pytest.approx((1500 + 200) * 2)
    assert rec.gb_seconds_recommended == pytest.approx(1500 + 200 * 1769 / 1024)
    assert rec.recommended_timeout_s == 300  # never lowered
    assert any("floor" in reason for reason in rec.reasons)


def test_slow_processing_keeps_more_memory_and_asks_for_a_longer_timeout():
    slow = [OrgActivity("a", "A", documents_processed=10, processing_seconds=[120.0] * 9 + [200.0])]
    rec = recommend_memory(slow, DEPLOYMENT, TABLE["assumptions"])
    # p95 is the slowest (200 s): 200 s fits 150 s at no size; at 1,536 MB 120 s would be 138 s.
    assert rec.recommended_mb == 2048 and "raise timeout_seconds" in rec.reasons[0]  # kept
    assert rec.recommended_timeout_s == 400
    quick = [OrgActivity("a", "A", documents_processed=10, processing_seconds=[120.0] * 10)]
    assert recommend_memory(quick, DEPLOYMENT, TABLE["assumptions"]).recommended_mb == 1536


def test_schedules_are_counted_from_their_expressions():
    assert invocations_per_month("rate(15 minutes)", 720) == 2880
    assert invocations_per_month("rate(1 hour)", 720) == 720
    assert invocations_per_month("rate(2 days)", 720) == 15
    assert invocations_per_month("cron(20 0 * * ? *)", 720) == 30


# --- the command on seeded records ----------------------------------------------------------


def report_json(*args: str) -> dict:
    out = io.StringIO()
    call_command("aws_usage_report", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_command_reports_this_month_from_the_records(kb_bot, owner, settings):
    settings.AWS_USAGE_TABLE = TABLE
    idle = make_org("Zz idle org")
    model = FakeChatModel()
    for question in ("When are refunds issued?", "When does the office open?", "zebra quantum volcano"):
        chat_answer(bot=kb_bot, message=question, model=model)

    data = report_json()

    assert data["month"] == timezone.now().strftime("%Y-%m") and data["projected"] is True
    assert data["stage"] == "dev"
    busy = next(o for o in data["orgs"] if o["org_id"] == str(kb_bot.org_id))
    (document,) = kb_bot.documents.all()
    chunks = list(Chunk.objects.for_org(kb_bot.org).filter(document=document))
    assert (busy["chat_turns"], busy["documents_uploaded"], busy["documents_processed"]) == (3, 1, 1)
    assert busy["lambda_requests"] == 3 + 1
    assert busy["api_gateway_requests"] == 3 + 1
    assert busy["s3_storage_gb"] == pytest.approx(document.size_bytes / GB, abs=1e-6)
    assert (busy["s3_put_requests"], busy["s3_get_requests"]) == (1, 1)
    text = sum(len(c.text) for c in chunks)
    per_item = math.ceil((text / len(chunks) + 150) / 1024)
    assert busy["dynamodb_write_units"] == pytest.approx(len(chunks) * (per_item + 1.5))
    read = sum(Message.objects.for_org(kb_bot.org).values_list("vector_bytes_read", flat=True))
    assert read > 0 and busy["dynamodb_read_units"] == pytest.approx(read / 8192, abs=1e-6)
    assert busy["cognito_mau"] == 1  # the owner uploaded the document
    idle_row = next(o for o in data["orgs"] if o["org_id"] == str(idle.pk))
    assert idle_row["lambda_requests"] == idle_row["chat_turns"] == idle_row["list_cost_usd"] == 0
    totals = {line["key"]: line for line in data["lines"]}
    assert totals["api_gateway_requests"]["used"] == 4
    assert totals["rds_storage_gb"]["used"] > 0
    assert totals["lambda_requests"]["used"] > 4  # the sweeper and the daily rollup ran too
    assert data["recommendation"]["current_mb"] == 2048


def test_a_past_month_without_records_is_empty_and_not_projected(kb_bot, settings):
    settings.AWS_USAGE_TABLE = TABLE
    chat_answer(bot=kb_bot, message="When are refunds issued?", model=FakeChatModel())
    data = report_json("--month", "2020-02", "--stage", "production")
    assert data["projected"] is False and data["stage"] == "production"
    (row,) = data["orgs"]
    assert row["chat_turns"] == row["documents_processed"] == row["s3_storage_gb"] == 0
    totals = {line["key"]: line for line in data["lines"]}
    assert totals["rds_instance_hours"]["used"] == 29 * 24


def test_the_table_names_each_org_and_the_memory_advice(kb_bot, settings):
    settings.AWS_USAGE_TABLE = TABLE
    chat_answer(bot=kb_bot, message="When are refunds issued?", model=FakeChatModel())
    out = io.StringIO()
    call_command("aws_usage_report", stdout=out)
    text = out.getvalue()
    assert "projected to the end of the month" in text
    assert kb_bot.org.name in text and "Per organisation" in text
    assert "Lambda memory: 2048 MB now" in text
    assert "billed" in text  # on-demand DynamoDB units have no free tier


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-13"], "YYYY-MM"),
        (["--month", "march"], "YYYY-MM"),
        (["--month", "2999-01"], "has not started"),
        (["--stage", "staging"], "no stage 'staging'"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_error(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("aws_usage_report", *args, stdout=io.StringIO())
