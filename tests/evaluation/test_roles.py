"""Every evaluation endpoint for every persona: viewers read, editors and above write and evaluate,
a non-member gets 404 and an anonymous caller 401."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluation.models import EvaluationRun, GoldenQuestion

PERSONAS = ["owner", "admin", "editor", "viewer", "outsider", "anonymous"]
WRITE = dict(zip(PERSONAS, [None, None, None, 403, 404, 401], strict=True))
READ = dict(zip(PERSONAS, [200, 200, 200, 200, 404, 401], strict=True))

# (name, method, path under the bot, body, expected status by persona)
MATRIX = [
    ("golden-list", "get", "golden-questions/", None, READ),
    ("golden-get", "get", "golden-questions/{golden}/", None, READ),
    (
        "golden-create",
        "post",
        "golden-questions/",
        {"question": "New?", "off_topic": True},
        {**WRITE, "owner": 201, "admin": 201, "editor": 201},
    ),
    (
        "golden-patch",
        "patch",
        "golden-questions/{golden}/",
        {"question": "Renamed?"},
        {**WRITE, "owner": 200, "admin": 200, "editor": 200},
    ),
    (
        "golden-delete",
        "delete",
        "golden-questions/{golden}/",
        None,
        {**WRITE, "owner": 204, "admin": 204, "editor": 204},
    ),
    (
        "golden-import",
        "post",
        "golden-questions/import/",
        "file",
        {**WRITE, "owner": 201, "admin": 201, "editor": 201},
    ),
    ("evaluate", "post", "evaluate/", {}, {**WRITE, "owner": 201, "admin": 201, "editor": 201}),
    ("evaluation-list", "get", "evaluations/", None, READ),
    ("evaluation-get", "get", "evaluations/{run}/", None, READ),
]

CASES = [
    pytest.param(method, path, body, persona, statuses[persona], id=f"{name}-{persona}")
    for name, method, path, body, statuses in MATRIX
    for persona in PERSONAS
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body", "persona", "expected"), CASES)
def test_evaluation_role_matrix(kb_bot, personas, client_for, method, path, body, persona, expected):
    golden = GoldenQuestion.objects.create(
        org=kb_bot.org, bot=kb_bot, question="When does the office open?", expected_answer="opens at 08:30"
    )
    run = EvaluationRun.objects.create(org=kb_bot.org, bot=kb_bot, k=5, index_version="v")
    url = f"/api/orgs/{kb_bot.org_id}/bots/{kb_bot.pk}/" + path.format(golden=golden.pk, run=run.pk)
    api = client_for(personas[persona])
    if body == "file":
        upload = SimpleUploadedFile("g.csv", b"question,off_topic\nImported?,true\n")
        response = api.post(url, {"file": upload}, format="multipart")
    else:
        response = (
            getattr(api, method)(url, body, format="json") if body is not None else getattr(api, method)(url)
        )
    assert response.status_code == expected, response.content
