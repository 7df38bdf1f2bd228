"""Golden questions through the API: CRUD, CSV/JSONL import, roles and tenant isolation."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluation.models import GoldenQuestion
from tests.factories import make_bot

from .conftest import url

pytestmark = pytest.mark.django_db


def _upload(name: str, data: bytes):
    return {"file": SimpleUploadedFile(name, data, content_type="text/plain")}


def test_editor_creates_lists_updates_and_deletes_golden_questions(kb_bot, editor, viewer, client_for):
    api = client_for(editor)
    document = kb_bot.documents_for_test[0]
    created = api.post(
        url(kb_bot, "golden-questions/"),
        {
            "question": "How fast are refunds?",
            "expected_answer": "within 14 days",
            "document_id": str(document.pk),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["document_id"] == str(document.pk) and body["off_topic"] is False
    off = api.post(
        url(kb_bot, "golden-questions/"), {"question": "Who won in 1998?", "off_topic": True}, format="json"
    )
    assert off.status_code == 201, off.content

    listing = client_for(viewer).get(url(kb_bot, "golden-questions/"), {"page_size": 1})
    assert listing.status_code == 200
    assert listing.json()["count"] == 2 and len(listing.json()["results"]) == 1
    assert listing.json()["results"][0]["question"] == "How fast are refunds?"

    golden_url = url(kb_bot, f"golden-questions/{body['id']}/")
    patched = api.patch(golden_url, {"expected_answer": "Refunds are issued within 14 days"}, format="json")
    assert patched.status_code == 200 and patched.json()["expected_answer"].startswith("Refunds")
    assert api.delete(golden_url).status_code == 204
    assert api.get(golden_url).status_code == 404
    assert GoldenQuestion.objects.for_org(kb_bot.org).count() == 1


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"question": "Why?"}, "expected_answer", "mark it off-topic"),
        ({"question": "Why?", "expected_answer": "x", "off_topic": True}, "off_topic", "no expected answer"),
        ({"question": "", "off_topic": True}, "question", "blank"),
        ({"question": "Why?", "off_topic": True, "answer": "typo"}, "answer", "Unknown field"),
        (
            {
                "question": "Why?",
                "expected_answer": "x",
                "document_id": "00000000-0000-0000-0000-000000000001",
            },
            "document_id",
            "no such document",
        ),
    ],
)
def test_bad_golden_question_is_400_with_detail_and_errors(
    kb_bot, editor, client_for, payload, field, message
):
    response = client_for(editor).post(url(kb_bot, "golden-questions/"), payload, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"] and message in " ".join(body["errors"][field])
    assert GoldenQuestion.objects.for_org(kb_bot.org).count() == 0


def test_the_same_question_twice_is_refused(kb_bot, editor, client_for):
    api = client_for(editor)
    payload = {"question": "Opening time?", "expected_answer": "opens at 08:30"}
    assert api.post(url(kb_bot, "golden-questions/"), payload, format="json").status_code == 201
    again = api.post(url(kb_bot, "golden-questions/"), payload, format="json")
    assert again.status_code == 400 and "already has" in again.json()["detail"]


def test_document_of_another_bot_is_refused(kb_bot, org, editor, client_for):
    other_bot = make_bot(org, "Other bot")
    document = kb_bot.documents_for_test[0]
    response = client_for(editor).post(
        url(other_bot, "golden-questions/"),
        {"question": "Q?", "expected_answer": "14 days", "document_id": str(document.pk)},
        format="json",
    )
    assert response.status_code == 400 and "document_id" in response.json()["errors"]


def test_csv_import_adds_every_row(kb_bot, editor, client_for):
    data = (
        b"question,answer,off_topic\n"
        b"How long do refunds take?,within 14 days of the parcel arriving,false\n"
        b'"When does the office open, on weekdays?",opens at 08:30,\n'
        b"Who painted the Sistine Chapel?,,true\n"
    )
    response = client_for(editor).post(
        url(kb_bot, "golden-questions/import/"), _upload("golden.csv", data), format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["imported"] == 3
    rows = GoldenQuestion.objects.for_org(kb_bot.org).filter(bot=kb_bot).order_by("created_at", "question")
    assert {(g.question, g.off_topic) for g in rows} == {
        ("How long do refunds take?", False),
        ("When does the office open, on weekdays?", False),
        ("Who painted the Sistine Chapel?", True),
    }


def test_jsonl_import_adds_every_line(kb_bot, editor, client_for):
    data = (
        b'{"question": "Is shipping free?", "answer": "Orders over 50 euros ship free of charge"}\n'
        b'{"question": "Best pizza in Naples?", "off_topic": true}\n'
    )
    response = client_for(editor).post(
        url(kb_bot, "golden-questions/import/"), _upload("golden.jsonl", data), format="multipart"
    )
    assert response.status_code == 201, response.content
    assert [r["off_topic"] for r in response.json()["results"]] == [False, True]


def test_import_with_one_bad_line_writes_nothing_and_names_the_lines(kb_bot, editor, client_for):
    api = client_for(editor)
    api.post(
        url(kb_bot, "golden-questions/"), {"question": "Already there?", "off_topic": True}, format="json"
    )
    data = (
        b'{"question": "Fine?", "answer": "opens at 08:30"}\n'
        b'{"question": "Broken", "answer": \n'
        b'{"question": "Already there?", "off_topic": true}\n'
    )
    response = api.post(url(kb_bot, "golden-questions/import/"), _upload("g.jsonl", data), format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert "nothing was imported" in body["detail"] and list(body["errors"]) == ["line 2"]
    assert GoldenQuestion.objects.for_org(kb_bot.org).count() == 1

    # With the syntax fixed, the clash with the bot's existing question is the one error left.
    fixed = data.replace(b'"answer": \n', b'"off_topic": true}\n')
    response = api.post(
        url(kb_bot, "golden-questions/import/"), _upload("g.jsonl", fixed), format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"line 3": ["The bot already has this question."]}
    assert GoldenQuestion.objects.for_org(kb_bot.org).count() == 1


def test_import_size_limit_and_missing_file(kb_bot, editor, client_for, settings):
    settings.EVALUATION_IMPORT_MAX_BYTES = 100
    api = client_for(editor)
    big = b"question,off_topic\n" + b"".join(b"question number %d?,true\n" % i for i in range(10))
    response = api.post(url(kb_bot, "golden-questions/import/"), _upload("g.csv", big), format="multipart")
    assert response.status_code == 400 and "limit is 100" in response.json()["errors"]["file"][0]
    missing = api.post(url(kb_bot, "golden-questions/import/"), {}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()["errors"]


def test_import_past_the_question_limit_is_refused(kb_bot, editor, client_for, settings):
    settings.EVALUATION_MAX_QUESTIONS = 2
    data = b"question,off_topic\nA?,true\nB?,true\nC?,true\n"
    response = client_for(editor).post(
        url(kb_bot, "golden-questions/import/"), _upload("g.csv", data), format="multipart"
    )
    assert response.status_code == 400 and "at most 2" in response.json()["detail"]
    assert GoldenQuestion.objects.for_org(kb_bot.org).count() == 0


def test_viewer_reads_but_cannot_write_or_import(kb_bot, editor, viewer, client_for):
    client_for(editor).post(
        url(kb_bot, "golden-questions/"), {"question": "Q?", "off_topic": True}, format="json"
    )
    golden = GoldenQuestion.objects.for_org(kb_bot.org).get()
    api = client_for(viewer)
    assert api.get(url(kb_bot, "golden-questions/")).status_code == 200
    assert api.get(url(kb_bot, f"golden-questions/{golden.pk}/")).status_code == 200
    assert (
        api.post(
            url(kb_bot, "golden-questions/"), {"question": "R?", "off_topic": True}, format="json"
        ).status_code
        == 403
    )
    assert (
        api.patch(
            url(kb_bot, f"golden-questions/{golden.pk}/"), {"question": "S?"}, format="json"
        ).status_code
        == 403
    )
    assert api.delete(url(kb_bot, f"golden-questions/{golden.pk}/")).status_code == 403
    data = _upload("g.csv", b"question,off_topic\nT?,true\n")
    assert api.post(url(kb_bot, "golden-questions/import/"), data, format="multipart").status_code == 403
    assert api.post(url(kb_bot, "evaluate/"), {}, format="json").status_code == 403
    assert GoldenQuestion.objects.for_org(kb_bot.org).count() == 1


def test_another_orgs_bot_and_questions_are_404(kb_bot, editor, other_org, client_for, outsider):
    theirs = GoldenQuestion.objects.create(
        org=other_org, bot=other_org.bot, question="Their question?", off_topic=True
    )
    api = client_for(editor)
    # Their bot under our org, and their question under our bot: both unknown here.
    wrong_org_bot = f"/api/orgs/{kb_bot.org_id}/bots/{other_org.bot.pk}/"
    for path in ("golden-questions/", "evaluations/", "golden-questions/import/", "evaluate/"):
        method = api.get if path.endswith(("questions/", "evaluations/")) else api.post
        assert method(wrong_org_bot + path).status_code == 404, path
    assert api.get(url(kb_bot, f"golden-questions/{theirs.pk}/")).status_code == 404
    assert api.delete(url(kb_bot, f"golden-questions/{theirs.pk}/")).status_code == 404
    assert client_for(outsider).get(url(kb_bot, "golden-questions/")).status_code == 404
    assert GoldenQuestion.objects.for_org(other_org).count() == 1


def test_golden_question_rows_are_tenant_scoped(kb_bot, other_org):
    from tenants.scoping import UnscopedQueryError

    GoldenQuestion.objects.create(org=kb_bot.org, bot=kb_bot, question="Ours?", off_topic=True)
    GoldenQuestion.objects.create(org=other_org, bot=other_org.bot, question="Theirs?", off_topic=True)
    with pytest.raises(UnscopedQueryError):
        list(GoldenQuestion.objects.all())
    assert [g.question for g in GoldenQuestion.objects.for_org(kb_bot.org)] == ["Ours?"]
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):  # a row pointing at another org's bot
        GoldenQuestion.objects.create(org=kb_bot.org, bot=other_org.bot, question="Mixed?", off_topic=True)


def test_a_duplicate_that_slips_past_the_checks_is_still_a_400(kb_bot, editor, client_for, monkeypatch):
    """Two requests adding the same question at once both pass the lookups; the constraint decides."""
    api = client_for(editor)
    payload = {"question": "Race?", "off_topic": True}
    assert api.post(url(kb_bot, "golden-questions/"), payload, format="json").status_code == 201
    monkeypatch.setattr("evaluation.services._question_taken", lambda **kwargs: False)
    validated = api.post(url(kb_bot, "golden-questions/"), payload, format="json")
    assert validated.status_code == 400 and "already exists" in validated.json()["detail"]
    monkeypatch.setattr("evaluation.services.model_validate", lambda **kwargs: None)
    raced = api.post(url(kb_bot, "golden-questions/"), payload, format="json")
    assert raced.status_code == 400
    assert raced.json()["errors"] == {"question": ["The bot already has this golden question."]}
    assert GoldenQuestion.objects.for_org(kb_bot.org).count() == 1
