"""Streamed exports: the column contract, CSV formula escaping, JSON Lines, pseudonyms, scoping."""

from __future__ import annotations

import csv
import io
import json

import pytest

from analytics.exports import DATASETS, Window, csv_cell, stream_csv
from chat.models import Channel, Message
from chat.services import chat_answer, feedback_record, new_visitor_id

from .conftest import analytics_url

pytestmark = pytest.mark.django_db

COLUMNS = {
    "messages": "org_id,message_id,conversation_id,bot_id,created_at,channel,visitor,role,content,unanswered,"
    "model_name,prompt_tokens,completion_tokens,latency_ms,rating,embeddings_computed,vector_bytes_read,error",
    "conversations": "org_id,conversation_id,bot_id,channel,visitor,user_id,started_at,last_activity_at,"
    "message_count,title",
    "daily_metrics": "org_id,day,bot_id,channel,conversations,user_messages,assistant_messages,visitors,"
    "unanswered,fallback_answers,model_errors,rated_up,rated_down,latency_ms_avg,latency_ms_p95,prompt_tokens,"
    "completion_tokens,embeddings_computed,embedding_tokens,vector_bytes_read,estimated_cost_usd",
    "documents": "org_id,document_id,bot_id,title,filename,kind,status,size_bytes,page_count,chunk_count,"
    "embedding_model,created_at,processed_at",
    "feedback": "org_id,message_id,conversation_id,bot_id,channel,visitor,answered_at,rated_at,rating,"
    "comment",
    "unanswered": "org_id,message_id,conversation_id,bot_id,channel,created_at,question,reason,group_id,"
    "status",
}


def _body(response) -> bytes:
    assert response.streaming, "exports stream"
    return b"".join(response.streaming_content)


@pytest.fixture
def activity(kb_bot, viewer, other_org):
    visitor = new_visitor_id()
    public = chat_answer(
        bot=kb_bot, message='=HYPERLINK("http://x")', channel=Channel.PUBLIC, visitor_id=visitor
    )
    feedback_record(message=public.message, rating="down", comment="@SUM(A1) wrong")
    chat_answer(bot=kb_bot, message="When does the office open?\nThanks, Ann", user=viewer)
    chat_answer(bot=kb_bot, message="-1+1 zebras?", user=viewer)
    chat_answer(bot=other_org.bot, message="Globex secret plans?", user=other_org.owner)
    return visitor


@pytest.mark.parametrize("dataset", sorted(COLUMNS))
def test_every_dataset_has_its_documented_columns_and_only_this_orgs_rows(
    dataset, kb_bot, owner, other_org, activity, client_for
):
    response = client_for(owner).get(analytics_url(kb_bot.org, f"export/{dataset}/"), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = _body(response).decode()
    assert text.splitlines()[0] == COLUMNS[dataset] == ",".join(c.name for c in DATASETS[dataset].columns)
    rows = list(csv.DictReader(io.StringIO(text)))
    if dataset != "daily_metrics" or rows:
        assert rows, f"{dataset} exported no rows"
    assert {row["org_id"] for row in rows} <= {str(kb_bot.org_id)}
    assert str(other_org.pk) not in text and str(other_org.bot.pk) not in text and "Globex" not in text
    assert activity not in text  # the visitor token itself never leaves


def test_messages_csv_escapes_formulas_keeps_line_breaks_and_uses_pseudonyms(
    kb_bot, owner, activity, client_for
):
    text = _body(client_for(owner).get(analytics_url(kb_bot.org, "export/messages/"))).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    contents = [row["content"] for row in rows if row["role"] == "user"]
    assert '\'=HYPERLINK("http://x")' in contents
    assert "'-1+1 zebras?" in contents
    assert "When does the office open?\nThanks, Ann" in contents
    public = [row for row in rows if row["channel"] == "public"]
    assert public and all(
        row["visitor"].startswith("visitor-") and len(row["visitor"]) == 20 for row in public
    )
    builder = [row for row in rows if row["channel"] == "builder"]
    assert builder and all(row["visitor"] == "" for row in builder)
    stamp = rows[0]["created_at"]
    assert stamp.endswith("Z") and "T" in stamp and len(stamp) == len("2026-01-01T00:00:00.000000Z")
    assert {row["unanswered"] for row in rows} <= {"true", "false"}
    feedback = _body(client_for(owner).get(analytics_url(kb_bot.org, "export/feedback/"))).decode()
    assert "'@SUM(A1) wrong" in feedback


def test_json_lines_keep_text_as_is_with_typed_values(kb_bot, owner, activity, client_for):
    response = client_for(owner).get(analytics_url(kb_bot.org, "export/messages/"), {"format": "json"})
    assert response["Content-Type"] == "application/x-ndjson"
    lines = _body(response).decode().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == Message.objects.for_org(kb_bot.org).count() == 6
    assert list(rows[0]) == COLUMNS["messages"].split(",")
    user = next(row for row in rows if row["content"].startswith("=HYPERLINK"))
    assert user["visitor"].startswith("visitor-") and user["unanswered"] is False
    answer = next(row for row in rows if row["role"] == "assistant" and row["channel"] == "builder")
    assert isinstance(answer["prompt_tokens"], int) and answer["visitor"] is None


def test_the_same_bytes_from_copy_and_from_python(kb_bot, activity):
    """On PostgreSQL the CSV comes from COPY; it must equal the csv.writer output row for row."""
    window_rows = {}
    for name in ("messages", "conversations", "feedback", "documents"):
        window = Window(org=kb_bot.org, start=kb_bot.created_at.date(), end=kb_bot.created_at.date())
        streamed = b"".join(stream_csv(DATASETS[name], window)).decode()
        dataset = DATASETS[name]  # the reference: every row through csv.writer
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([c.name for c in dataset.columns])
        for row in dataset.iter_rows(window):
            writer.writerow([csv_cell(c.kind, v) for c, v in zip(dataset.columns, row, strict=True)])
        assert streamed == buffer.getvalue(), name
        window_rows[name] = len(list(csv.reader(io.StringIO(streamed)))) - 1
    assert window_rows["messages"] == 6 and window_rows["feedback"] == 1


def test_bad_export_requests(kb_bot, owner, client_for):
    client = client_for(owner)
    response = client.get(analytics_url(kb_bot.org, "export/passwords/"))
    assert response.status_code == 404 and "messages" in response.json()["detail"]
    response = client.get(analytics_url(kb_bot.org, "export/messages/"), {"format": "xlsx"})
    assert response.status_code == 400
