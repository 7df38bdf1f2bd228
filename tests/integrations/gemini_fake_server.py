"""A local fake of the Gemini REST API, for testing the real google-genai SDK end to end.

The server listens on 127.0.0.1 on an ephemeral port and answers
``POST /<api_version>/models/<model>:generateContent`` and ``:streamGenerateContent?alt=sse`` from
a queue of scripted responses, recording every request. Point a client at it with
``types.HttpOptions(base_url=server.url)``.

    with FakeGeminiServer() as server:
        server.enqueue(200, text_response("Hi [1]", prompt_tokens=10, completion_tokens=3))
        ...
        assert server.requests[0].json["generationConfig"]["temperature"] == 0.2

An unscripted request gets a 500 whose message says so, which makes a missing ``enqueue`` obvious
in the failure output instead of hanging.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: path without query, query params, lower-cased headers, JSON body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any


@dataclass
class ScriptedResponse:
    """A response to send. ``events`` makes it a server-sent-event stream (one JSON per event)."""

    status: int = 200
    body: Any = None
    events: list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    # > 0: the events go out one by one (chunked), this far apart, like a model generating.
    event_delay_s: float = 0.0


def text_response(
    text: str,
    *,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    finish_reason: str | None = "STOP",
    model_version: str = "gemini-2.5-flash",
) -> dict[str, Any]:
    """A ``GenerateContentResponse`` JSON body with one text candidate and usage metadata."""
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish_reason:
        candidate["finishReason"] = finish_reason
    return {
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": completion_tokens,
            "totalTokenCount": prompt_tokens + completion_tokens,
        },
        "modelVersion": model_version,
    }


def blocked_prompt_response(reason: str = "SAFETY", *, prompt_tokens: int = 10) -> dict[str, Any]:
    """The body Gemini returns when the prompt itself is blocked: no candidates, a block reason."""
    return {
        "promptFeedback": {"blockReason": reason},
        "usageMetadata": {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens},
    }


def error_body(code: int, status: str, message: str, *, details: list[Any] | None = None) -> dict[str, Any]:
    """A Google API error envelope: ``{"error": {"code", "status", "message", "details"}}``."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return {"error": error}


def rate_limited_body(*, retry_delay: str | None = None, daily: bool = False) -> dict[str, Any]:
    """A realistic 429 RESOURCE_EXHAUSTED body, optionally with RetryInfo and a per-day quota."""
    quota_id = (
        "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
        if daily
        else "GenerateRequestsPerMinutePerProject"
    )
    details: list[Any] = [
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {"quotaMetric": "generativelanguage.googleapis.com/generate_requests", "quotaId": quota_id}
            ],
        }
    ]
    if retry_delay is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    return error_body(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", details=details)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's httpx client expects
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        split = urlsplit(self.path)
        owner = self.server.owner
        owner._record(
            RecordedRequest(
                method="POST",
                path=split.path,
                query=parse_qs(split.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                json=body,
            )
        )
        scripted = owner._next()
        if scripted.delay_s:
            time.sleep(scripted.delay_s)
        if scripted.events is not None and scripted.event_delay_s:
            self._send_paced(scripted)
            return
        if scripted.events is not None:
            payload = "".join(f"data: {json.dumps(e)}\r\n\r\n" for e in scripted.events).encode()
            content_type = "text/event-stream"
        else:
            payload = json.dumps(scripted.body if scripted.body is not None else {}).encode()
            content_type = "application/json; charset=UTF-8"
        try:
            self.send_response(scripted.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in scripted.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to report

    def _send_paced(self, scripted: ScriptedResponse) -> None:
        try:
            self.send_response(scripted.status)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for number, event in enumerate(scripted.events or []):
                if number:
                    time.sleep(scripted.event_delay_s)
                data = f"data: {json.dumps(event)}\r\n\r\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeGeminiServer


class FakeGeminiServer:
    """Scripted fake Gemini endpoint. Use as a context manager or call ``start``/``stop``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[ScriptedResponse] = deque()
        self.requests: list[RecordedRequest] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("FakeGeminiServer is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGeminiServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        # A short poll interval: shutdown() waits up to one interval, and every test stops a server.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-gemini", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeGeminiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enqueue(
        self,
        status: int = 200,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
    ) -> None:
        """Queue a JSON response for the next request."""
        with self._lock:
            self._queue.append(ScriptedResponse(status, body, None, dict(headers or {}), delay_s))

    def enqueue_stream(
        self, events: list[Any], *, status: int = 200, delay_s: float = 0.0, event_delay_s: float = 0.0
    ) -> None:
        """Queue a server-sent-event response: each event is one ``GenerateContentResponse`` chunk;
        with ``event_delay_s`` they are sent one at a time, that far apart."""
        with self._lock:
            self._queue.append(ScriptedResponse(status, None, list(events), {}, delay_s, event_delay_s))

    @property
    def pending(self) -> int:
        """Scripted responses not yet consumed."""
        with self._lock:
            return len(self._queue)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next(self) -> ScriptedResponse:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return ScriptedResponse(
            500, error_body(500, "INTERNAL", "FakeGeminiServer: no scripted response left for this request")
        )
