"""Summary, usage and the unanswered-question loop through the API: figures, scoping, roles."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from analytics.models import UnansweredQuestion
from chat.models import Channel
from chat.services import chat_answer, feedback_record, new_visitor_id
from documents.models import Document, DocumentStatus
from integrations.llm import Generation
from integrations.llm.fake import FakeChatModel

from .conftest import analytics_url

pytestmark = pytest.mark.django_db


def _today():
    return timezone.now().astimezone(UTC).date()


def test_summary_has_totals_and_every_day_with_quiet_days_as_zeros(kb_bot, viewer, owner, client_for):
    chat_answer(bot=kb_bot, message="When does the office open?", user=viewer)
    answered = chat_answer(bot=kb_bot, message="When does the office close?", user=viewer)
    chat_answer(
        bot=kb_bot, message="Do you sell zebras?", channel=Channel.PUBLIC, visitor_id=new_visitor_id()
    )
    feedback_record(message=answered.message, rating="up")
    start = _today() - timedelta(days=6)
    response = client_for(owner).get(analytics_url(kb_bot.org, "summary/"), {"from": start, "to": _today()})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [day["day"] for day in body["daily"]] == [str(start + timedelta(days=i)) for i in range(7)]
    quiet, today = body["daily"][0], body["daily"][-1]
    assert (
        quiet["user_messages"] == 0 and quiet["unanswered_rate"] is None and quiet["latency_ms_p95"] is None
    )
    assert today["user_messages"] == 3 and today["assistant_messages"] == 3
    assert today["messages_by_channel"]["builder"] == {"user": 2, "assistant": 2}
    assert today["messages_by_channel"]["public"] == {"user": 1, "assistant": 1}
    assert today["unanswered"] == 1 and today["unanswered_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert today["model_calls_avoided"] == 1 and today["satisfaction_rate"] == 1.0
    assert today["latency_ms_p95"] is not None and today["prompt_tokens"] > 0
    totals = body["totals"]
    assert totals["visitors"] == 2 and totals["conversations"] == 3
    assert totals["documents_total"] == 1 and totals["storage_bytes"] > 0 and totals["chunks_total"] > 0
    assert totals["documents_indexed"] == 1  # the FAQ became ready today


def test_summary_of_one_bot_and_a_bad_range(kb_bot, owner, client_for, other_org):
    client = client_for(owner)
    url = analytics_url(kb_bot.org, "summary/")
    assert client.get(url, {"bot": kb_bot.pk}).json()["bot_id"] == str(kb_bot.pk)
    # Another org's bot is a 404 like a missing one.
    assert client.get(url, {"bot": other_org.bot.pk}).status_code == 404
    response = client.get(url, {"from": "2026-02-01", "to": "2026-01-01"})
    assert response.status_code == 400 and "from" in response.json()["errors"]
    response = client.get(url, {"from": "2020-01-01", "to": "2026-01-01"})
    assert response.status_code == 400 and "limit is 366" in response.json()["detail"]


def test_usage_estimates_cost_from_tokens_and_the_price_table(kb_bot, owner, viewer, client_for):
    gemini = FakeChatModel(
        [Generation("Opens at 08:30 [1].", 1_000, 200, "gemini-2.5-flash", "STOP", (1,))],
        name="gemini-2.5-flash",
    )
    chat_answer(bot=kb_bot, message="When does the office open?", user=viewer, model=gemini)
    chat_answer(bot=kb_bot, message="Do you sell zebras?", user=viewer)  # fallback: no model call
    body = client_for(owner).get(analytics_url(kb_bot.org, "usage/")).json()
    assert body["estimated"] is True and body["currency"] == "USD" and "estimate" in body["note"].lower()
    assert body["prices"]["models"]["gemini-2.5-flash"] == {"input": "0.30", "output": "2.50"}
    bot = next(b for b in body["bots"] if b["bot_id"] == str(kb_bot.pk))
    assert bot["requests_by_channel"] == {"builder": 2, "public": 0, "api": 0}
    assert bot["model_calls"] == 1 and bot["prompt_tokens"] == 1_000 and bot["completion_tokens"] == 200
    assert bot["embeddings_computed"] == 2 and bot["vector_bytes_read"] > 0 and bot["storage_bytes"] > 0
    # 1000 × 0.30 + 200 × 2.50 USD per million tokens
    assert bot["estimated_cost_usd"]["model_and_embeddings"] == pytest.approx(0.0008)
    assert bot["estimated_cost_usd"]["vector_reads"] == 0  # the database store has no per-read charge
    assert body["org"]["estimated_cost_usd"]["total"] == pytest.approx(0.0008)
    with override_settings(VECTOR_STORE="dynamodb"):
        body = client_for(owner).get(analytics_url(kb_bot.org, "usage/")).json()
    assert body["org"]["estimated_cost_usd"]["vector_reads"] > 0


def test_unanswered_groups_by_normal_form_and_near_duplicates(kb_bot, editor, client_for):
    for question in ("Do you sell zebras?", "do you sell ZEBRAS", "Do you sell zebras !", "Zebra quantum?"):
        chat_answer(bot=kb_bot, message=question, channel=Channel.PUBLIC, visitor_id=new_visitor_id())
    # Same words in another order: not the same normal form, but cosine ≥ 0.9 with the fake embedder.
    chat_answer(
        bot=kb_bot, message="Zebras: do you sell?", channel=Channel.PUBLIC, visitor_id=new_visitor_id()
    )
    response = client_for(editor).get(analytics_url(kb_bot.org, "unanswered/"))
    assert response.status_code == 200, response.content
    groups = response.json()["results"]
    assert [(g["question"], g["count"]) for g in groups][0][1] == 4
    top = groups[0]
    assert top["status"] == "open" and top["variants"] == ["Zebras: do you sell?"]
    assert top["id"] and top["example_conversation_id"]
    assert [g["count"] for g in groups] == [4, 1]


def test_resolving_adds_a_document_that_answers_the_next_visitor(
    kb_bot, editor, client_for, django_capture_on_commit_callbacks
):
    visitor = new_visitor_id()
    first = chat_answer(
        bot=kb_bot, message="Do you deliver abroad?", channel=Channel.PUBLIC, visitor_id=visitor
    )
    assert first.message.unanswered
    client = client_for(editor)
    group = client.get(analytics_url(kb_bot.org, "unanswered/")).json()["results"][0]
    with django_capture_on_commit_callbacks(execute=True):  # processing starts after the commit
        response = client.post(
            analytics_url(kb_bot.org, f"unanswered/{group['id']}/resolve/"),
            {"answer": "Yes, we deliver abroad within 5 working days."},
            format="json",
        )
    assert response.status_code == 200, response.content
    state = response.json()
    assert state["status"] == "resolved" and state["document_id"]
    document = Document.objects.for_org(kb_bot.org).get(pk=state["document_id"])
    assert document.status == DocumentStatus.READY and document.title.startswith("Q&A: Do you deliver")

    again = chat_answer(
        bot=kb_bot, message="Do you deliver abroad?", channel=Channel.PUBLIC, visitor_id=visitor
    )
    assert not again.message.unanswered
    assert "5 working days" in again.message.content
    assert again.sources[0]["document_id"] == state["document_id"]
    # A second resolve is refused; ignore and reopen work.
    url = analytics_url(kb_bot.org, f"unanswered/{group['id']}/")
    assert client.post(url + "resolve/", {"answer": "x"}, format="json").status_code == 409
    assert client.post(url + "reopen/").json()["status"] == "open"
    assert client.post(url + "ignore/").json()["status"] == "ignored"
    listed = client.get(analytics_url(kb_bot.org, "unanswered/"), {"status": "ignored"}).json()["results"]
    assert [g["id"] for g in listed] == [group["id"]]


def test_resolve_needs_an_answer(kb_bot, editor, client_for):
    chat_answer(bot=kb_bot, message="Do you sell zebras?", user=editor)
    group = UnansweredQuestion.objects.for_org(kb_bot.org).get()
    url = analytics_url(kb_bot.org, f"unanswered/{group.pk}/resolve/")
    response = client_for(editor).post(url, {"answer": "   "}, format="json")
    assert response.status_code == 400
    response = client_for(editor).post(url, {"answer": "ok", "extra": 1}, format="json")
    body = response.json()
    assert response.status_code == 400 and "extra" in body.get("errors", body)
    group.refresh_from_db()
    assert group.status == "open" and group.document_id is None


def test_other_orgs_analytics_are_404_with_no_foreign_ids(org, owner, other_org, client_for):
    chat_answer(bot=other_org.bot, message="Secret question of Globex?", user=other_org.owner)
    foreign = UnansweredQuestion.objects.for_org(other_org).get()
    client = client_for(owner)
    probes = [
        ("get", analytics_url(other_org, "summary/")),
        ("get", analytics_url(other_org, "usage/")),
        ("get", analytics_url(other_org, "unanswered/")),
        ("get", analytics_url(other_org, "export/messages/")),
        ("post", analytics_url(other_org, f"unanswered/{foreign.pk}/resolve/")),
        ("post", analytics_url(other_org, f"unanswered/{foreign.pk}/ignore/")),
        # My org in the path, the other org's group id after it.
        ("post", analytics_url(org, f"unanswered/{foreign.pk}/resolve/")),
        ("post", analytics_url(org, f"unanswered/{foreign.pk}/ignore/")),
        ("post", analytics_url(org, f"unanswered/{foreign.pk}/reopen/")),
        ("get", analytics_url(org, "summary/") + f"?bot={other_org.bot.pk}"),
        ("get", analytics_url(org, "export/messages/") + f"?bot={other_org.bot.pk}"),
    ]
    for method, url in probes:
        response = getattr(client, method)(
            url, {"answer": "leak"} if method == "post" else None, format="json"
        )
        assert response.status_code == 404, (method, url, response.status_code)
        text = b"".join(response.streaming_content) if response.streaming else response.content
        for foreign_id in (other_org.pk, other_org.bot.pk, foreign.pk):
            assert str(foreign_id).encode() not in text
    foreign.refresh_from_db()
    assert foreign.status == "open"
    # And my own unanswered list shows nothing of theirs.
    assert client.get(analytics_url(org, "unanswered/")).json()["results"] == []
