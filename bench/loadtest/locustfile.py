"""The load: website visitors chatting, members searching and listing, editors uploading.

Run by ``python -m bench.loadtest`` (``make loadtest``) with Locust's CLI; it reads the seed's fixture
from ``LOADTEST_FIXTURE`` and, when the test stops, writes to ``LOADTEST_OUT``:
``writes.json`` (every write a user saw succeed, for the consistency check) and ``stats.json``
(per-route requests/s, percentiles and failures, taken from Locust's own statistics).

- ``Visitor`` (most users): opens the widget (bot config), asks 1–5 questions on the public channel as
  one visitor (the ``visitor_id`` it was given goes back in ``X-Visitor-Id``), sometimes re-reads the
  conversation, then leaves; the next visit is a new visitor. Each visitor also has its own client
  address, sent as ``X-Forwarded-For`` to a server that trusts one proxy hop (``TRUSTED_PROXY_COUNT=1``):
  the per-visitor and per-IP limits stay at their defaults and see what real visitors would.
- ``Member`` (viewers, signed in with a session): lists bots, documents and conversations, searches.
- ``Editor`` (signed in; ``LOADTEST_EDITORS`` of them, the rest split 7 : 2): uploads a small, unique
  text or Markdown document, then polls it.

Requests are named by route (``/api/orgs/[org]/bots/[bot]/documents/``), never per id, so the
statistics group by route.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import secrets
import threading
import uuid
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task

FIXTURE = json.loads(Path(os.environ["LOADTEST_FIXTURE"]).read_text())
OUT = Path(os.environ["LOADTEST_OUT"])
ORG = FIXTURE["org_id"]
BOTS = FIXTURE["bots"]
QUESTIONS = [
    "How long is the robot vacuum warranty?",
    "When does the office open?",
    "How do I return an item?",
    "How long does delivery take?",
    "Can I change my order?",
    "Which floors can the robot vacuum clean?",
    "How do I reset the robot?",
    "How do I delete my account?",
    "How many vacation days do employees get?",
    "Do you ship abroad?",
    "What is the refund policy for opened items?",
]
SEARCHES = ["warranty", "return an item", "opening hours", "robot vacuum floors", "vacation days", "delivery"]
TOPICS = ["shipping", "returns", "warranty", "opening hours", "gift cards", "repairs", "accounts", "payments"]

WRITES: list[dict[str, Any]] = []
_lock = threading.Lock()
_member_seq = itertools.count()
_editor_seq = itertools.count()


def record(**write: Any) -> None:
    with _lock:
        WRITES.append(write)


def _session(pool: list[str], seq: itertools.count) -> str:
    return pool[next(seq) % len(pool)]


class SignedIn(HttpUser):
    """A member whose browser holds a session (seeded) and the CSRF cookie Django pairs with it."""

    abstract = True
    role = "viewer"

    def on_start(self) -> None:
        pool = FIXTURE["sessions"][self.role]
        seq = _editor_seq if self.role == "editor" else _member_seq
        csrf = secrets.token_hex(16)  # 32 characters: Django accepts the unmasked secret in the header
        self.client.cookies.set("sessionid", _session(pool, seq))
        self.client.cookies.set("csrftoken", csrf)
        self.client.headers["X-CSRFToken"] = csrf
        self.bot = random.choice(BOTS)
        self.base = f"/api/orgs/{ORG}/bots/{self.bot['id']}"


class Visitor(HttpUser):
    weight = 7
    wait_time = between(3, 8)  # reading the answer and typing the next question

    def on_start(self) -> None:
        self._new_visit()

    def _new_visit(self) -> None:
        self.bot = random.choice(BOTS)
        self.visitor_id = ""
        self.conversation_id = ""
        self.turns_left = random.randint(1, 5)
        address = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        self.client.headers["X-Forwarded-For"] = address
        self.client.get(f"/api/public/bots/{self.bot['public_id']}/", name="/api/public/bots/[public_id]/")

    @task(6)
    def ask(self) -> None:
        body: dict[str, Any] = {"message": random.choice(QUESTIONS)}
        if self.conversation_id:
            body["conversation_id"] = self.conversation_id
        headers = {"X-Visitor-Id": self.visitor_id} if self.visitor_id else {}
        with self.client.post(
            f"/api/public/bots/{self.bot['public_id']}/chat/",
            json=body,
            headers=headers,
            name="/api/public/bots/[public_id]/chat/",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            answer = response.json()
            if not answer.get("answer") or (
                self.conversation_id and answer["conversation_id"] != self.conversation_id
            ):
                response.failure(f"unexpected answer: {response.text[:200]}")
                return
            self.visitor_id = answer["visitor_id"]
            self.conversation_id = answer["conversation_id"]
            record(kind="message", conversation_id=self.conversation_id, message_id=answer["message_id"])
        self.turns_left -= 1
        if self.turns_left <= 0:
            self._new_visit()

    @task(1)
    def reread(self) -> None:
        if not self.conversation_id:
            return
        self.client.get(
            f"/api/public/bots/{self.bot['public_id']}/conversations/{self.conversation_id}/",
            headers={"X-Visitor-Id": self.visitor_id},
            name="/api/public/bots/[public_id]/conversations/[id]/",
        )


class Member(SignedIn):
    weight = 2
    wait_time = between(2, 6)
    role = "viewer"

    @task(3)
    def search(self) -> None:
        with self.client.post(
            f"{self.base}/search/",
            json={"query": random.choice(SEARCHES), "top_k": 5},
            name="/api/orgs/[org]/bots/[bot]/search/",
            catch_response=True,
        ) as response:
            if response.status_code == 200 and not response.json().get("results"):
                response.failure("a search of the demo knowledge base found nothing")

    @task(2)
    def list_documents(self) -> None:
        self.client.get(f"{self.base}/documents/", name="/api/orgs/[org]/bots/[bot]/documents/")

    @task(1)
    def list_bots(self) -> None:
        self.client.get(f"/api/orgs/{ORG}/bots/", name="/api/orgs/[org]/bots/")

    @task(1)
    def list_conversations(self) -> None:
        self.client.get(f"{self.base}/conversations/", name="/api/orgs/[org]/bots/[bot]/conversations/")


class Editor(SignedIn):
    # A fixed number (the runner: a tenth of the users, at least one), so a brief run uploads too.
    fixed_count = int(os.environ.get("LOADTEST_EDITORS") or 0)
    weight = 1
    wait_time = between(5, 12)
    role = "editor"

    def on_start(self) -> None:
        super().on_start()
        self.uploaded: list[str] = []
        self.upload()  # what the editor came for; also makes every run, however brief, upload

    @task(2)
    def upload(self) -> None:
        topic = random.choice(TOPICS)
        markdown = random.random() < 0.5
        marker = uuid.uuid4().hex  # unique bytes: the same bytes twice would return the first document
        text = (
            f"# Notes on {topic}\n\nReference {marker}.\n\n"
            + "\n\n".join(
                f"## {topic.title()} {i}\n\nCustomers asking about {topic} get answer number {i}: "
                f"our team replies within {random.randint(1, 5)} working days, record {marker[:8]}."
                for i in range(random.randint(2, 6))
            )
            if markdown
            else f"Notes on {topic}, reference {marker}.\n\n"
            + " ".join(
                f"Fact {i} about {topic} for record {marker[:8]}." for i in range(random.randint(20, 80))
            )
        ).encode()
        filename = f"{topic.replace(' ', '-')}-{marker[:8]}.{'md' if markdown else 'txt'}"
        with self.client.post(
            f"{self.base}/documents/",
            files={"file": (filename, text, "text/markdown" if markdown else "text/plain")},
            data={"title": f"Notes on {topic}"},
            name="/api/orgs/[org]/bots/[bot]/documents/ (upload)",
            catch_response=True,
        ) as response:
            if response.status_code not in (200, 201):
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            document = response.json()
            self.uploaded.append(document["id"])
            record(
                kind="document",
                document_id=document["id"],
                sha256=hashlib.sha256(text).hexdigest(),
                created=response.status_code == 201,
            )

    @task(1)
    def poll(self) -> None:
        if self.uploaded:
            self.client.get(
                f"{self.base}/documents/{random.choice(self.uploaded)}/",
                name="/api/orgs/[org]/bots/[bot]/documents/[id]/",
            )


def _entry(stats: Any, duration_s: float) -> dict[str, Any]:
    pct = stats.get_response_time_percentile
    return {
        "requests": stats.num_requests,
        "failures": stats.num_failures,
        "rps": round(stats.num_requests / duration_s, 2) if duration_s else 0.0,
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(stats.max_response_time or 0, 1),
        "avg_ms": round(stats.avg_response_time, 1),
    }


@events.test_stop.add_listener
def _write_results(environment: Any, **_: Any) -> None:
    stats = environment.stats
    duration = (
        max(stats.total.last_request_timestamp - stats.total.start_time, 1e-9)
        if stats.total.num_requests
        else 0
    )
    routes = {
        f"{entry.method} {entry.name}": _entry(entry, duration)
        for entry in sorted(stats.entries.values(), key=lambda e: (e.name, e.method))
    }
    errors = [
        {"route": f"{e.method} {e.name}", "error": str(e.error)[:300], "occurrences": e.occurrences}
        for e in stats.errors.values()
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "stats.json").write_text(
        json.dumps(
            {
                "duration_s": round(duration, 1),
                "total": _entry(stats.total, duration),
                "routes": routes,
                "errors": errors,
            },
            indent=2,
        )
    )
    with _lock:
        (OUT / "writes.json").write_text(json.dumps(WRITES))
