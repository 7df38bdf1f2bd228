"""The database side of the load test, run in the server's environment (``python -m bench.loadtest._db``).

``seed --out F``: a load-test organisation with an owner, editors and viewers, bots with the demo
knowledge base processed now (ONNX embedder), and a signed-in session per member (what a member's
browser holds after signing in once), written to ``F`` as JSON for the locustfile.

``check --writes W [--timeout S]``: the consistency check. ``W`` lists every write the Locust users saw
succeed (messages: conversation and message ids; uploads: document ids and hashes). It waits until no
uploaded document is pending or processing (the server's worker threads are still running), then
counts them against the database: every answered turn stored exactly once (one visitor message and one
answer per turn, in the conversation the answer named), no conversation the users did not see, every
uploaded document present and ready with all its passages and vectors, no duplicate bytes per bot, and
no chunk or vector outside a document's live generation. Prints a JSON report; exit 1 when it fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ORG_NAME = "Load test"


def _django() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()


def _session_cookie(user: Any) -> str:
    """A real session for `user` in the session store, as a browser holds it after signing in."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def seed(*, bots: int, editors: int, viewers: int) -> dict[str, Any]:
    _django()
    from accounts.services import user_create
    from bots.services import bot_create
    from chat.management.commands.seed_demo import DEMO_QUESTIONS
    from documents.seed import seed_demo_documents
    from tenants.models import Membership, Role
    from tenants.services import member_add, org_create

    owner = user_create(email="owner@loadtest.example", name="Load owner")
    org = org_create(user=owner, name=ORG_NAME)
    actor = Membership.objects.get(org=org, user=owner)
    members: dict[str, list[str]] = {"editor": [], "viewer": []}
    for role, count in (("editor", editors), ("viewer", viewers)):
        for i in range(count):
            email = f"{role}{i}@loadtest.example"
            member_add(org=org, actor=actor, email=email, role=getattr(Role, role.upper()))
            # No password: members hold a session, and hashing one costs ~0.5 s of CPU each.
            user = user_create(email=email, name=f"Load {role} {i}")
            members[role].append(_session_cookie(user))
    out = []
    for i in range(bots):
        bot = bot_create(
            org=org,
            user=owner,
            name=f"Load bot {i}",
            system_prompt="Answer from the company's documents only.",
            suggested_questions=DEMO_QUESTIONS,
        )
        for line in seed_demo_documents(org=org, bot=bot, user=owner):
            print(line, file=sys.stderr)
        out.append({"id": str(bot.pk), "public_id": bot.public_id})
    return {"org_id": str(org.pk), "bots": out, "sessions": members}


def _wait_for_processing(doc_ids: list[str], timeout_s: float) -> tuple[dict[str, int], float]:
    from documents.models import Document, DocumentStatus

    started = time.monotonic()
    unfinished = (DocumentStatus.PENDING, DocumentStatus.PROCESSING)
    while True:
        rows = Document.all_orgs.filter(pk__in=doc_ids).values_list("status", flat=True)
        counts = dict(Counter(rows))
        waited = time.monotonic() - started
        if not any(counts.get(s) for s in unfinished) or waited >= timeout_s:
            return counts, round(waited, 1)
        time.sleep(1.0)


def check(*, writes: list[dict[str, Any]], org_id: str, timeout_s: float) -> dict[str, Any]:
    """The consistency report (see the module docstring); ``ok`` says whether it passed."""
    _django()
    from django.db.models import Count

    from chat.models import Channel, Conversation, Message
    from documents.models import Chunk, Document, DocumentStatus
    from integrations.models import ChunkVector

    problems: list[str] = []

    def problem(text: str, items: list[Any]) -> None:
        if items:
            problems.append(f"{text}: {len(items)} (e.g. {', '.join(map(str, items[:3]))})")

    # --- messages ------------------------------------------------------------------------------
    turns = [w for w in writes if w["kind"] == "message"]
    answer_ids = [w["message_id"] for w in turns]
    turns_per_conversation = Counter(w["conversation_id"] for w in turns)
    problem("answers reported twice by the server", [m for m, n in Counter(answer_ids).items() if n > 1])
    stored = {
        str(pk): (str(conversation_id), role)
        for pk, conversation_id, role in Message.all_orgs.filter(pk__in=answer_ids).values_list(
            "pk", "conversation_id", "role"
        )
    }
    problem("answers missing from the database", [m for m in answer_ids if m not in stored])
    problem(
        "answers stored in another conversation or role",
        [
            w["message_id"]
            for w in turns
            if stored.get(w["message_id"], (w["conversation_id"], "assistant"))
            != (w["conversation_id"], "assistant")
        ],
    )
    public = Conversation.all_orgs.filter(org_id=org_id, channel=Channel.PUBLIC)
    by_role: dict[str, Counter] = defaultdict(Counter)
    rows = Message.all_orgs.filter(conversation__in=public).values("conversation_id", "role")
    for row in rows.annotate(n=Count("id")):
        by_role[str(row["conversation_id"])][row["role"]] = row["n"]
    conversation_ids = {str(pk) for pk in public.values_list("pk", flat=True)}
    problem("conversations the users never saw", sorted(conversation_ids - set(turns_per_conversation)))
    problem(
        "conversations whose stored turns differ from the answers received (lost or duplicated)",
        [
            f"{c}: {dict(by_role.get(c, {}))} for {n} turns"
            for c, n in turns_per_conversation.items()
            if by_role.get(c, Counter()) != Counter({"user": n, "assistant": n})
        ],
    )

    # --- documents -----------------------------------------------------------------------------
    uploads = [w for w in writes if w["kind"] == "document"]
    doc_ids = sorted({w["document_id"] for w in uploads})
    statuses, waited = _wait_for_processing(doc_ids, timeout_s)
    docs = {str(d.pk): d for d in Document.all_orgs.filter(pk__in=doc_ids)}
    problem("uploaded documents missing", [d for d in doc_ids if d not in docs])
    problem(
        "uploaded documents not ready",
        [
            f"{k}={d.status} {d.error[:80]}".strip()
            for k, d in docs.items()
            if d.status != DocumentStatus.READY
        ],
    )
    problem(
        "uploads answered with an existing document (the load sends unique bytes)",
        [w["document_id"] for w in uploads if not w.get("created")],
    )
    problem(
        "document hashes differ from the bytes sent",
        [
            w["document_id"]
            for w in uploads
            if w["document_id"] in docs and docs[w["document_id"]].sha256 != w["sha256"]
        ],
    )
    all_docs = Document.all_orgs.filter(org_id=org_id)
    duplicates = all_docs.values("bot_id", "sha256").annotate(n=Count("id")).filter(n__gt=1)
    problem(
        "duplicate documents (same bytes, same bot)", [f"{d['sha256'][:12]}×{d['n']}" for d in duplicates]
    )
    live = {str(pk): gen for pk, gen in all_docs.values_list("pk", "active_generation")}
    chunk_counts = Counter()
    stray_chunks = []
    for document_id, generation, n in (
        Chunk.all_orgs.filter(org_id=org_id).values_list("document_id", "generation").annotate(n=Count("id"))
    ):
        if live.get(str(document_id)) == generation:
            chunk_counts[str(document_id)] += n
        else:
            stray_chunks.append(f"{document_id}@{generation}×{n}")
    problem("chunks outside a document's live generation (orphans)", stray_chunks)
    vector_counts = Counter()
    stray_vectors = []
    for document_id, generation, n in (
        ChunkVector.objects.filter(org_id=org_id)
        .values_list("document_id", "generation")
        .annotate(n=Count("id"))
    ):
        if live.get(document_id) == generation:
            vector_counts[document_id] += n
        else:
            stray_vectors.append(f"{document_id}@{generation}×{n}")
    problem("vectors outside a document's live generation (orphans)", stray_vectors)
    ready = [d for d in all_docs if d.status == DocumentStatus.READY]
    problem(
        "ready documents whose passages or vectors do not match their chunk count",
        [
            f"{d.pk}: {d.chunk_count} chunks, {chunk_counts[str(d.pk)]} rows, "
            f"{vector_counts[str(d.pk)]} vectors"
            for d in ready
            if not d.chunk_count
            or chunk_counts[str(d.pk)] != d.chunk_count
            or vector_counts[str(d.pk)] != d.chunk_count
        ],
    )
    return {
        "ok": not problems,
        "problems": problems,
        "messages": {
            "turns_recorded": len(turns),
            "conversations_recorded": len(turns_per_conversation),
            "answers_found": sum(1 for m in answer_ids if m in stored),
            "public_conversations_in_db": len(conversation_ids),
            "messages_in_db": sum(sum(c.values()) for c in by_role.values()),
        },
        "documents": {
            "uploads_recorded": len(uploads),
            "found": len(docs),
            "statuses": statuses,
            "waited_for_processing_s": waited,
            "documents_in_org": len(live),
            "chunks": sum(chunk_counts.values()),
            "vectors": sum(vector_counts.values()),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest._db")
    sub = parser.add_subparsers(dest="command", required=True)
    p_seed = sub.add_parser("seed")
    p_seed.add_argument("--out", type=Path, required=True)
    p_seed.add_argument("--bots", type=int, default=2)
    p_seed.add_argument("--editors", type=int, default=10)
    p_seed.add_argument("--viewers", type=int, default=30)
    p_check = sub.add_parser("check")
    p_check.add_argument("--writes", type=Path, required=True)
    p_check.add_argument("--fixture", type=Path, required=True)
    p_check.add_argument("--out", type=Path, required=True)
    p_check.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args(argv)
    if args.command == "seed":
        fixture = seed(bots=args.bots, editors=args.editors, viewers=args.viewers)
        args.out.write_text(json.dumps(fixture, indent=2))
        return 0
    org_id = json.loads(args.fixture.read_text())["org_id"]
    report = check(writes=json.loads(args.writes.read_text()), org_id=org_id, timeout_s=args.timeout)
    args.out.write_text(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
