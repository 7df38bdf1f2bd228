"""Evaluating a bot on its golden questions: real pipeline, stored runs, history, index version."""

from __future__ import annotations

import pytest

from analytics.models import DailyMetrics
from chat.models import Conversation, Message
from chat.services import chat_answer
from documents.services import document_delete, document_process, document_reindex
from evaluation.models import EvaluationRun, GoldenQuestion
from evaluation.selectors import bot_index, bot_index_version, index_changes
from evaluation.services import evaluation_run
from integrations.llm import ModelUnavailable
from tests.factories import make_bot

from .conftest import HOURS, RETURNS, SHIPPING, index, url

pytestmark = pytest.mark.django_db


def _golden(bot, question, answer="", *, document=None):
    return GoldenQuestion.objects.create(
        org=bot.org,
        bot=bot,
        question=question,
        expected_answer=answer,
        off_topic=not answer,
        document=document,
    )


@pytest.mark.slow
def test_evaluate_with_the_default_embedder_finds_every_span_and_declines_off_topic(
    bot, owner, editor, client_for, settings
):
    settings.EMBEDDER = "minilm"  # the platform default (test settings use the fast fake)
    returns = index(bot, owner, RETURNS, "returns.md")
    index(bot, owner, HOURS, "hours.md")
    index(bot, owner, SHIPPING, "shipping.md")
    _golden(
        bot,
        "How many days until I get my money back?",
        "within 14 days of the parcel arriving",
        document=returns,
    )
    _golden(bot, "What time does the office open in the morning?", "The office opens at 08:30")
    _golden(bot, "Do I pay for delivery on a big order?", "Orders over 50 euros ship free of charge")
    _golden(bot, "Who painted the ceiling of the Sistine Chapel?")

    response = client_for(editor).post(url(bot, "evaluate/"), {"k": 3}, format="json")

    assert response.status_code == 201, response.content
    run = response.json()
    assert run["status"] == "done" and run["k"] == 3
    assert (run["questions"], run["on_topic"], run["off_topic"]) == (4, 3, 1)
    assert run["recall"] == 1.0 and run["mrr"] > 0.5
    assert run["fallback_rate"] == 1.0
    assert run["answered_rate"] == 1.0
    assert run["index"]["embedder"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert run["index"]["documents"] == 3
    by_question = {o["question"]: o for o in run["outcomes"]}
    assert by_question["Who painted the ceiling of the Sistine Chapel?"]["answered"] is False
    assert by_question["Who painted the ceiling of the Sistine Chapel?"]["answer"] == bot.fallback_message
    assert by_question["How many days until I get my money back?"]["rank"] == 1
    assert "14 days" in by_question["How many days until I get my money back?"]["answer"]
    # An evaluation is not traffic: no conversation, message or analytics row.
    assert Conversation.objects.for_org(bot.org).count() == 0
    assert Message.objects.for_org(bot.org).count() == 0
    assert DailyMetrics.objects.for_org(bot.org).count() == 0
    stored = EvaluationRun.objects.for_org(bot.org).get()
    assert stored.created_by == editor and stored.index_version == run["index_version"]
    # The trial answers exactly as the recorded chat does.
    for outcome in run["outcomes"]:
        recorded = chat_answer(bot=bot, message=outcome["question"])
        assert (recorded.message.unanswered, recorded.message.content) == (
            not outcome["answered"],
            outcome["answer"],
        ), outcome["question"]


def test_a_span_the_documents_lack_is_a_miss_and_the_document_reference_counts(kb_bot, owner):
    returns, hours, _ = kb_bot.documents_for_test
    _golden(kb_bot, "When does the office open?", "opens at 08:30")
    _golden(kb_bot, "When does the office open on weekdays?", "opens at 08:30", document=returns)  # wrong doc
    _golden(kb_bot, "Can I pay with bitcoin?", "we accept bitcoin")

    run = evaluation_run(bot=kb_bot, user=owner, k=3)

    ranks = {o["question"]: o["rank"] for o in run.outcomes}
    assert ranks["When does the office open?"] is not None
    assert ranks["When does the office open on weekdays?"] is None
    assert ranks["Can I pay with bitcoin?"] is None
    assert run.recall == pytest.approx(1 / 3) and run.fallback_rate is None and run.off_topic == 0


def test_evaluate_refuses_a_bot_without_questions_or_ready_documents(
    kb_bot, org, editor, client_for, settings
):
    api = client_for(editor)
    none = api.post(url(kb_bot, "evaluate/"), {}, format="json")
    assert none.status_code == 400 and none.json()["code"] == "no_golden_questions"
    assert "add some" in none.json()["detail"]

    empty_bot = make_bot(org, "Empty bot")
    _golden(empty_bot, "Anything?")
    empty = api.post(url(empty_bot, "evaluate/"), {}, format="json")
    assert empty.status_code == 400 and empty.json()["code"] == "no_ready_documents"

    settings.EVALUATION_MAX_QUESTIONS = 1
    _golden(kb_bot, "One?")
    _golden(kb_bot, "Two?")
    too_many = api.post(url(kb_bot, "evaluate/"), {}, format="json")
    assert too_many.status_code == 400 and "at most 1" in too_many.json()["detail"]

    bad_k = api.post(url(kb_bot, "evaluate/"), {"k": 0}, format="json")
    assert bad_k.status_code == 400 and "k" in bad_k.json()["errors"]
    unknown = api.post(url(kb_bot, "evaluate/"), {"top": 3}, format="json")
    assert unknown.status_code == 400 and "top" in unknown.json()["errors"]
    assert EvaluationRun.objects.for_org(org).count() == 0


def test_history_is_newest_first_and_the_detail_has_outcomes(kb_bot, editor, viewer, other_org, client_for):
    _golden(kb_bot, "When does the office open?", "opens at 08:30")
    api = client_for(editor)
    first = api.post(url(kb_bot, "evaluate/"), {"k": 1}, format="json").json()
    second = api.post(url(kb_bot, "evaluate/"), {"k": 5}, format="json").json()

    history = client_for(viewer).get(url(kb_bot, "evaluations/"))
    assert history.status_code == 200
    results = history.json()["results"]
    assert [r["id"] for r in results] == [second["id"], first["id"]]
    assert "outcomes" not in results[0] and results[0]["created_by"] == "editor@example.com"
    assert first["index_version"] == second["index_version"]  # nothing changed in between

    detail = client_for(viewer).get(url(kb_bot, f"evaluations/{first['id']}/"))
    assert (
        detail.status_code == 200 and detail.json()["outcomes"][0]["question"] == "When does the office open?"
    )

    theirs = EvaluationRun.objects.create(org=other_org, bot=other_org.bot, k=5, index_version="x")
    assert api.get(url(kb_bot, f"evaluations/{theirs.pk}/")).status_code == 404


def test_a_failing_model_stores_a_failed_run_and_answers_503(kb_bot, owner):
    class Down:
        name = "down"

        def generate(self, **kwargs):
            raise ModelUnavailable("quota exhausted for project p-1")

    _golden(kb_bot, "When does the office open?", "opens at 08:30")
    from tenants.errors import Unavailable

    with pytest.raises(Unavailable) as caught:
        evaluation_run(bot=kb_bot, user=owner, model=Down())
    run = EvaluationRun.objects.for_org(kb_bot.org).get()
    assert caught.value.extra == {"evaluation_id": str(run.pk)}
    assert run.status == "failed" and "quota exhausted" in run.error and run.recall is None
    assert Message.objects.for_org(kb_bot.org).count() == 0


def test_index_version_changes_with_reindex_delete_and_settings_only(
    kb_bot, owner, django_capture_on_commit_callbacks
):
    returns, hours, shipping = kb_bot.documents_for_test
    version = bot_index_version(bot=kb_bot)
    assert bot_index_version(bot=kb_bot) == version  # stable
    kb_bot.refresh_from_db()
    kb_bot.name = "Renamed"  # not an answer setting
    kb_bot.save()
    assert bot_index_version(bot=kb_bot) == version

    before = bot_index(bot=kb_bot)
    document_reindex(document=hours, user=owner)
    document_process(document_id=str(hours.pk), org_id=str(hours.org_id))
    reindexed = bot_index_version(bot=kb_bot)
    assert reindexed != version
    assert index_changes(before, bot_index(bot=kb_bot)) == ["documents"]

    with django_capture_on_commit_callbacks(execute=True):
        document_delete(document=shipping, user=owner)
    deleted = bot_index_version(bot=kb_bot)
    assert deleted not in (version, reindexed)

    before = bot_index(bot=kb_bot)
    kb_bot.top_k = 3
    kb_bot.save()
    assert bot_index_version(bot=kb_bot) != deleted
    assert index_changes(before, bot_index(bot=kb_bot)) == ["answer.top_k"]
    kb_bot.relevance_threshold = 0.3
    kb_bot.save()
    assert index_changes(before, bot_index(bot=kb_bot)) == ["answer.relevance_threshold", "answer.top_k"]
    kb_bot.top_k, kb_bot.relevance_threshold = 5, before["answer"]["relevance_threshold"]
    kb_bot.save()
    assert bot_index_version(bot=kb_bot) == deleted  # back to the same settings, the same version


def test_evaluations_of_one_bot_are_rate_limited(kb_bot, editor, client_for, settings, monkeypatch):
    from types import SimpleNamespace

    # Frozen inside a minute: the fixed window cannot reset between the two requests.
    monkeypatch.setattr("chat.ratelimit.time", SimpleNamespace(time=lambda: 1_800_000_030.0))
    settings.EVALUATION_RATE = "1/minute"
    _golden(kb_bot, "When does the office open?", "opens at 08:30")
    api = client_for(editor)
    assert api.post(url(kb_bot, "evaluate/"), {}, format="json").status_code == 201
    refused = api.post(url(kb_bot, "evaluate/"), {}, format="json")
    assert refused.status_code == 429 and refused.json()["limit"] == "evaluation"
    assert int(refused["Retry-After"]) > 0
    assert EvaluationRun.objects.for_org(kb_bot.org).count() == 1
