"""`manage.py eval_bot`: imports a file, prints the table beside the previous run, stores the run."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from evaluation.models import EvaluationRun, GoldenQuestion

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command("eval_bot", *args, stdout=out)
    return out.getvalue()


def test_eval_bot_imports_prints_the_table_and_compares_with_the_previous_run(kb_bot, tmp_path):
    golden = tmp_path / "golden.jsonl"
    golden.write_text(
        '{"question": "When does the office open?", "answer": "opens at 08:30"}\n'
        '{"question": "Can I pay with bitcoin?", "answer": "we accept bitcoin"}\n'
        '{"question": "Who won the 1998 world cup?", "off_topic": true}\n'
    )
    first = _run(kb_bot.org.name, kb_bot.name, "--k", "3", "--import", str(golden))
    assert "Imported 3 golden questions" in first
    lines = {line.split()[0]: line.split()[1:] for line in first.splitlines() if line.strip()}
    assert lines["recall@3"][:2] == ["0.500", "-"]  # one span of two exists in the documents
    assert lines["fallback"][0] == "1.000"
    assert lines["n"][0] == "3"
    assert "not in the top 3: Can I pay with bitcoin?" in first

    kb_bot.top_k = 4
    kb_bot.save()
    second = _run(str(kb_bot.org_id), str(kb_bot.pk), "--k", "3")
    assert "recall@3       0.500     0.500   +0.000" in second
    assert "Changed since the previous run: answer.top_k" in second
    runs = list(EvaluationRun.objects.for_org(kb_bot.org).order_by("created_at"))
    assert len(runs) == 2 and runs[0].index_version != runs[1].index_version
    assert f"Stored as evaluation {runs[1].pk}." in second


def test_eval_bot_json_output_is_the_stored_run(kb_bot):
    GoldenQuestion.objects.create(
        org=kb_bot.org, bot=kb_bot, question="Opening time?", expected_answer="08:30"
    )
    body = json.loads(_run(kb_bot.org.name, kb_bot.name, "--json"))
    run = EvaluationRun.objects.for_org(kb_bot.org).get()
    assert body["id"] == str(run.pk) and body["k"] == kb_bot.top_k and body["questions"] == 1
    assert body["outcomes"][0]["question"] == "Opening time?"


def test_eval_bot_errors_name_the_problem(kb_bot, tmp_path):
    with pytest.raises(CommandError, match="No organisation"):
        _run("Nope", kb_bot.name)
    with pytest.raises(CommandError, match="No bot"):
        _run(kb_bot.org.name, "Nope")
    with pytest.raises(CommandError, match="no golden questions"):
        _run(kb_bot.org.name, kb_bot.name)
    bad = tmp_path / "bad.csv"
    bad.write_text("question,answer\nFine?,ok\n,missing question\n")
    with pytest.raises(CommandError, match=r"(?s)nothing was imported.*line 3: The question is empty"):
        _run(kb_bot.org.name, kb_bot.name, "--import", str(bad))
    assert GoldenQuestion.objects.for_org(kb_bot.org).count() == 0
    with pytest.raises(CommandError, match="--k must be"):
        _run(kb_bot.org.name, kb_bot.name, "--k", "50")
