"""The benchmark runner and its corpus: pure checks, no database and no model."""

from __future__ import annotations

import json

import pytest

from bench import _child
from bench.__main__ import error_row, normalise, run_module
from bench._common import format_table, row
from bench._corpus import manual_pages, questions
from documents.samples import build_pdf


def _row(name: str, ok: bool) -> dict:
    return {"name": name, "value": 2.0, "baseline": 1.0, "ratio": 2.0, "goal": "<= 1.5x", "ok": ok}


def test_manual_pages_are_deterministic_and_every_page_fits_a_pdf():
    pages = manual_pages(6)

    assert pages == manual_pages(6)
    assert pages != manual_pages(6, seed=8)
    assert len(pages) == 6 and all(pages)
    assert sum(p.startswith("# ") for page in pages for p in page) >= 6
    assert build_pdf(pages).startswith(b"%PDF-")  # raises when a page overflows


def test_questions_are_deterministic_and_varied():
    asked = questions(30)

    assert asked == questions(30)
    assert len(set(asked)) >= 25
    assert all(q.endswith("?") for q in asked)


def test_row_computes_the_ratio_and_requires_ok_unless_informational():
    assert row("x", 3.0, 2.0, goal="<= 2x", ok=True)["ratio"] == 1.5
    assert row("x", 3.0, 0.0, goal="info")["ratio"] is None
    assert row("x", 3.0, 2.0, goal="info")["ok"] is True
    with pytest.raises(ValueError):
        row("x", 3.0, 2.0, goal="<= 2x")


def test_normalise_accepts_a_row_list_or_a_result_dict_and_tags_the_module():
    rows, info = normalise("lambda", [_row("a", True)])
    assert info == {}
    assert rows[0]["module"] == "lambda" and rows[0]["unit"] == "" and rows[0]["ok"] is True

    rows, info = normalise("vectors", {"module": "vectors", "rows": [_row("b", False)], "info": {"n": 1}})
    assert [(r["module"], r["name"], r["ok"]) for r in rows] == [("vectors", "b", False)]
    assert info == {"n": 1}


@pytest.mark.parametrize(
    "result",
    [None, {"rows": []}, [{"name": "no ok"}], [{"name": "x", "ok": "yes"}], {"info": {}}],
)
def test_normalise_rejects_results_without_rows_or_boolean_ok(result):
    with pytest.raises(ValueError):
        normalise("m", result)


def test_child_writes_an_error_payload_when_the_module_cannot_be_imported(tmp_path):
    out = tmp_path / "result.json"

    assert _child.main(["no_such_bench_module", str(out)]) == 0

    payload = json.loads(out.read_text())
    assert "result" not in payload
    assert "ModuleNotFoundError" in payload["error"]


def test_run_module_turns_a_failing_module_into_an_error_row(tmp_path):
    outcome = run_module("no_such_bench_module", timeout_s=60, log_dir=tmp_path)

    assert "ModuleNotFoundError" in outcome["error"]
    [failed] = outcome["rows"]
    assert failed["ok"] is False and failed["value"] is None
    assert failed["module"] == "no_such_bench_module"
    assert (tmp_path / "no_such_bench_module.log").exists()


def test_format_table_aligns_columns_and_marks_missed_goals_and_errors():
    rows = [
        {**_row("fast enough", True), "module": "a", "unit": "ms"},
        {**_row("too slow", False), "module": "a", "unit": "ms"},
        error_row("b", "Traceback ...\nImportError: broken"),
    ]

    lines = format_table(rows, with_module=True).splitlines()

    assert len(lines) == 2 + len(rows)
    assert len({line.index("|") for line in lines if "|" in line}) == 1
    assert lines[2].endswith("yes") and lines[3].endswith("NO") and lines[4].endswith("ERROR")
    assert "2 ms" in lines[2] and "ImportError: broken" in lines[4]


def test_child_rejects_a_call_without_module_and_output_path():
    assert _child.main([]) == 2
