"""Admin pages: golden questions per bot, the file import, the evaluate action, the run history."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evaluation.models import EvaluationRun, GoldenQuestion
from evaluation.services import evaluation_run
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(make_user("ops@example.com", is_staff=True, is_superuser=True))
    return client


def test_golden_question_changelist_filters_by_bot_and_links_import(kb_bot, other_org, staff_client):
    GoldenQuestion.objects.create(org=kb_bot.org, bot=kb_bot, question="Ours?", off_topic=True)
    GoldenQuestion.objects.create(org=other_org, bot=other_org.bot, question="Theirs?", off_topic=True)
    url = reverse("admin:evaluation_goldenquestion_changelist")
    page = staff_client.get(url, {"bot": str(kb_bot.pk)})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ours?" in html and "Theirs?" not in html
    assert reverse("admin:evaluation_goldenquestion_import") in html
    assert staff_client.get(url, {"bot": "not-a-uuid"}).status_code == 200
    add = staff_client.get(reverse("admin:evaluation_goldenquestion_add"))
    assert add.status_code == 200


def test_admin_import_adds_questions_or_lists_every_bad_line(kb_bot, staff_client):
    url = reverse("admin:evaluation_goldenquestion_import")
    assert staff_client.get(url).status_code == 200
    bad = SimpleUploadedFile("g.csv", b"question,answer,off_topic\nFine?,opens at 08:30,\nBoth?,x,true\n")
    page = staff_client.post(url, {"bot": str(kb_bot.pk), "file": bad})
    assert page.status_code == 200
    assert "line 3" in page.content.decode() and "nothing was imported" in page.content.decode()
    assert GoldenQuestion.objects.for_org(kb_bot.org).count() == 0

    good = SimpleUploadedFile("g.jsonl", b'{"question": "Fine?", "answer": "opens at 08:30"}\n')
    response = staff_client.post(url, {"bot": str(kb_bot.pk), "file": good})
    assert response.status_code == 302 and f"bot={kb_bot.pk}" in response["Location"]
    assert GoldenQuestion.objects.for_org(kb_bot.org).get().question == "Fine?"


def test_evaluate_action_and_history_with_change_vs_previous(kb_bot, owner, staff_client):
    golden = GoldenQuestion.objects.create(
        org=kb_bot.org, bot=kb_bot, question="When does the office open?", expected_answer="opens at 08:30"
    )
    first = evaluation_run(bot=kb_bot, user=owner, k=3)
    changelist = reverse("admin:evaluation_goldenquestion_changelist")
    response = staff_client.post(
        changelist, {"action": "evaluate_bots", "_selected_action": [str(golden.pk)]}, follow=True
    )
    assert response.status_code == 200 and "Support bot: recall 1.000" in response.content.decode()
    latest = EvaluationRun.objects.for_org(kb_bot.org).order_by("-created_at").first()
    assert latest.pk != first.pk and latest.k == kb_bot.top_k

    history = staff_client.get(reverse("admin:evaluation_evaluationrun_changelist"), {"bot": str(kb_bot.pk)})
    html = history.content.decode()
    assert history.status_code == 200
    assert html.index(latest.index_version[:12]) < html.rindex("first run")  # newest first, oldest last
    assert "recall +0.000" in html and "changed: nothing" in html

    detail = staff_client.get(reverse("admin:evaluation_evaluationrun_change", args=[latest.pk]))
    page = detail.content.decode()
    assert detail.status_code == 200
    assert (
        "When does the office open?" in page and latest.index_version in page and "documents_digest" in page
    )
    assert staff_client.get(reverse("admin:evaluation_evaluationrun_add")).status_code == 403
