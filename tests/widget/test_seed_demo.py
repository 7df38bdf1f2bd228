"""`make run`'s seed: the demo bot's origins follow PORT, and re-running adds no documents."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from bots.models import Bot
from chat.management.commands.seed_demo import DEMO_BOT
from documents.models import Document
from documents.samples import DEMO_DOCX_BODY, DEMO_FILENAMES, build_docx
from documents.services import document_upload

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def demo_bot() -> Bot:
    return Bot.all_orgs.get(name=DEMO_BOT)


def demo_documents(bot: Bot) -> list[tuple[str, str]]:
    return sorted(Document.objects.for_org(bot.org_id).filter(bot=bot).values_list("filename", "status"))


def test_docx_bytes_do_not_depend_on_the_clock(monkeypatch):
    """Regression: python-docx stamped ZIP entries with the current time, so each `make run` built
    different bytes and the upload's hash de-duplication let another copy in."""
    first = build_docx(DEMO_DOCX_BODY)
    monkeypatch.setattr(zipfile.time, "localtime", lambda *a: (2031, 7, 4, 12, 30, 10, 0, 0, 0))
    assert build_docx(DEMO_DOCX_BODY) == first


def test_seed_allows_the_port_it_serves_and_extra_origins_and_keeps_existing_ones():
    out = seed("--no-documents", "--port", "8123", "--origin", "http://127.0.0.1:8124")
    bot = demo_bot()
    assert bot.allowed_origins == ["http://127.0.0.1:8123", "http://localhost:8123", "http://127.0.0.1:8124"]
    assert f"http://127.0.0.1:8123/demo/{bot.public_id}/" in out
    assert bot.suggested_questions and bot.launcher_text  # the demo shows the widget's features
    bot.allowed_origins = [*bot.allowed_origins, "https://shop.example.com"]
    bot.save()
    seed("--no-documents", "--port", "9000")
    assert demo_bot().allowed_origins == [
        "http://127.0.0.1:8123",
        "http://localhost:8123",
        "http://127.0.0.1:8124",
        "https://shop.example.com",
        "http://127.0.0.1:9000",
        "http://localhost:9000",
    ]
    assert Bot.all_orgs.filter(name=DEMO_BOT).count() == 1


def test_a_bad_extra_origin_is_a_clear_error():
    with pytest.raises(CommandError, match="--origin: 'ftp://x' must look like https://example.com"):
        seed("--no-documents", "--origin", "ftp://x")


def test_seeding_twice_keeps_one_copy_of_each_demo_document():
    seed("--port", "8123")
    bot = demo_bot()
    expected = sorted((name, "ready") for name in DEMO_FILENAMES)
    assert demo_documents(bot) == expected
    out = seed("--port", "8123")
    assert demo_documents(bot) == expected
    assert "removed a duplicate" not in out


def test_the_seed_removes_copies_left_by_older_seeds(monkeypatch, django_capture_on_commit_callbacks):
    seed("--no-documents")
    bot = demo_bot()
    # What older seeds left behind: the handbook twice, with bytes that differ only in ZIP timestamps.
    for stamp in ((2024, 1, 1, 0, 0, 0), (2025, 1, 1, 0, 0, 0)):
        data = io.BytesIO()
        with (
            zipfile.ZipFile(io.BytesIO(build_docx(DEMO_DOCX_BODY))) as source,
            zipfile.ZipFile(data, "w") as out,
        ):
            for entry in source.infolist():
                out.writestr(zipfile.ZipInfo(entry.filename, date_time=stamp), source.read(entry))
        document_upload(
            bot=bot, user=None, data=data.getvalue(), filename="botwright-staff-handbook.docx", enqueue=False
        )
    assert len(demo_documents(bot)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        out = seed()
    assert out.count("removed a duplicate of botwright-staff-handbook.docx") == 1
    assert demo_documents(bot) == sorted((name, "ready") for name in DEMO_FILENAMES)


def test_site_dir_writes_a_customer_page_that_embeds_the_widget(tmp_path):
    seed("--no-documents", "--port", "8123", "--site-dir", str(tmp_path))
    html = (tmp_path / "index.html").read_text()
    bot = demo_bot()
    assert f'<script src="http://127.0.0.1:8123/widget.js" data-bot="{bot.public_id}" async></script>' in html
