"""The lexical index (SQLite FTS5 / PostgreSQL tsvector) and hybrid retrieval built on it."""

from __future__ import annotations

import pytest
from django.db import connection

from documents import lexical
from documents.models import Chunk
from documents.retrieval import RetrievalOptions, retrieve, retrieve_detailed
from documents.selectors import active_generations
from documents.services import document_process, document_upload
from integrations.llm.terms import query_words
from tests.factories import make_bot

pytestmark = pytest.mark.django_db


def _index(bot, user, data: bytes, name: str):
    document, _ = document_upload(bot=bot, user=user, data=data, filename=name, enqueue=False)
    return document_process(document_id=str(document.pk), org_id=str(bot.org_id))


def _search(bot, question: str, limit: int = 10) -> list[str]:
    hits = lexical.search(
        org_id=str(bot.org_id),
        bot_id=str(bot.pk),
        active=active_generations(bot=bot),
        words=query_words(question),
        limit=limit,
    )
    return [Chunk.objects.for_org(bot.org_id).get(pk=h.chunk_id).text for h in hits]


MANUAL = (
    b"# Warranty\n\nThe zeppelin warranty lasts two years from delivery.\n\n"
    b"# Cleaning\n\nRinse the filter under warm water every month.\n"
)


def test_the_index_follows_chunks_and_ranks_rare_words_first(bot, owner):
    _index(bot, owner, MANUAL, "manual.md")

    texts = _search(bot, "How long is the zeppelin warranty?")

    assert texts and "zeppelin warranty lasts two years" in texts[0]
    assert all("filter" not in t for t in texts)  # matches need a query word


def test_stemming_matches_inflections(bot, owner):
    _index(bot, owner, MANUAL, "manual.md")

    assert any("Rinse the filter" in t for t in _search(bot, "rinsing filters"))


def test_another_bot_and_another_org_never_match(bot, owner, org, other_org):
    _index(bot, owner, MANUAL, "manual.md")
    sibling = make_bot(org, "Sibling")
    _index(sibling, owner, b"# Secret\n\nThe zeppelin launch code is 0000.\n", "secret.md")
    _index(other_org.bot, other_org.owner, b"# Other\n\nEvery zeppelin in Globex is yellow.\n", "other.md")

    texts = _search(bot, "zeppelin launch code yellow")

    assert texts and all("launch code" not in t and "yellow" not in t for t in texts)
    sibling_texts = _search(sibling, "zeppelin warranty")
    assert sibling_texts and all("launch code" in t for t in sibling_texts)
    # The same words scoped to the other org's bot only ever find that bot's text.
    assert all("yellow" in t for t in _search(other_org.bot, "zeppelin warranty yellow"))


def test_only_live_generations_match(bot, owner):
    document = _index(bot, owner, MANUAL, "manual.md")
    live = document.active_generation
    # A generation being written (or about to be deleted) is in the table but not live.
    Chunk.objects.create(
        org_id=bot.org_id,
        bot=bot,
        document=document,
        generation=live + 1,
        ordinal=0,
        text="zeppelin draft text",
    )

    texts = _search(bot, "zeppelin draft")

    assert "zeppelin draft text" not in texts
    assert any("zeppelin warranty" in t for t in texts)


def test_deleting_chunks_removes_them_from_the_index(bot, owner):
    document = _index(bot, owner, MANUAL, "manual.md")
    Chunk.objects.for_org(bot.org_id).filter(document=document).delete()

    assert _search(bot, "zeppelin warranty") == []
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM documents_chunk_fts")
            assert cursor.fetchone()[0] == 0


def test_document_frequencies_count_live_chunks_per_word(bot, owner):
    _index(bot, owner, MANUAL, "manual.md")
    total, counts = lexical.document_frequencies(
        org_id=str(bot.org_id),
        bot_id=str(bot.pk),
        active=active_generations(bot=bot),
        words=["zeppelin", "filters", "honda"],
    )

    assert total == Chunk.objects.for_org(bot.org_id).filter(bot=bot).count()
    assert counts == {"zeppelin": 1, "filters": 1, "honda": 0}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite drops triggers when a table is rebuilt")
def test_repair_restores_triggers_and_indexes_rows_written_without_them(bot, owner):
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER documents_chunk_fts_insert")  # what a table rebuild does
    _index(bot, owner, MANUAL, "manual.md")
    assert _search(bot, "zeppelin") == []

    lexical.repair_index(connection)

    assert any("zeppelin" in t for t in _search(bot, "zeppelin"))
    _index(bot, owner, b"# More\n\nThe quokka manual is new.\n", "more.md")
    assert any("quokka" in t for t in _search(bot, "quokka"))


def test_hybrid_retrieval_returns_context_and_marks_lexical_only_hits(bot, owner):
    sections = b"\n\n".join(
        f"# Section {i}\n\nParagraph {i} talks about topic number {i} at some length.".encode()
        for i in range(12)
    )
    _index(bot, owner, sections + b"\n\n# Zeppelins\n\nThe zeppelin hangar opens at dawn.\n", "long.md")

    passages = retrieve(bot=bot, query="When does the zeppelin hangar open?", top_k=3)

    assert "zeppelin hangar" in passages[0].text
    assert passages[0].context_before  # neighbouring text of the same document
    assert "hangar" not in passages[0].context_before  # the hit's own text is not repeated as context
    baseline = retrieve(
        bot=bot, query="When does the zeppelin hangar open?", options=RetrievalOptions.baseline()
    )
    assert all(p.context_before == p.context_after == "" for p in baseline)


def test_windows_do_not_repeat_a_chunk_already_shown_as_context(bot, owner):
    sections = b"\n\n".join(f"# Part {i}\n\nThe walrus note {i} is here.".encode() for i in range(6))
    _index(bot, owner, sections, "walrus.md")

    found = retrieve_detailed(bot=bot, query="walrus note", top_k=5).passages

    seen = [p.chunk_id for p in found]
    assert len(seen) == len(set(seen))
    for p in found:
        for other in found:
            if other is not p:
                assert p.text not in other.context_before and p.text not in other.context_after
