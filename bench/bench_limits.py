"""Request-body limits: what an oversized body costs the server, with the limits and without them.

Each case runs in a fresh process (``python -m bench.bench_limits --case <name> --mode <m>``) on an
isolated SQLite database (``bench._django``) and calls Django's WSGI handler directly with a body
generated on demand, so the numbers are the server's alone:

(a) ``json_24mb``: an anonymous 24 MB JSON body (``{"message": "hi", "pad": [{}, {}, ...]}``) to the
    public chat. Peak RSS growth and time, with the limits (refused unread) against the same app
    without them (RequestBodyLimitMiddleware and the upload handler removed: the body is parsed,
    then the unknown field is a 400). Goal: growth ≤ 16 MB.
(b) ``upload_200mb``: an authenticated 200 MB multipart upload to the documents route. Bytes read
    from the connection before the answer and time, with the limits against without them (the body
    is spooled to a temporary file, then the view answers 413). Goal: ≤ 1 MB read.
(c) ``chunked_200mb``: the same upload chunked, without Content-Length. Bytes read before the cut,
    against the whole body. Goal: ≤ the route's limit + 64 KiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/bench_limits.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _django  # noqa: E402
from bench._bodies import GeneratedBody  # noqa: E402
from bench._common import INFO, main, row  # noqa: E402

MB = 1024 * 1024
BOUNDARY = "----botwright-bench"
PASSWORD = "bench-password-123"  # noqa: S105 (a throwaway user in a temporary database)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _call(app: Any, path: str, body: GeneratedBody, content_type: str, **extra: Any) -> int:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": content_type,
        **extra,
    }
    if "HTTP_TRANSFER_ENCODING" not in extra:
        environ["CONTENT_LENGTH"] = str(body.size)
    status: list[str] = []
    chunks = app(environ, lambda s, headers, exc_info=None: status.append(s))
    for _ in chunks:
        pass
    getattr(chunks, "close", lambda: None)()
    return int(status[0].split()[0])


def _case(name: str, mode: str) -> dict[str, Any]:
    """One measurement in this (fresh) process."""
    with tempfile.TemporaryDirectory(prefix="botwright-bench-limits-") as workdir:
        _django.setup(Path(workdir), embedder="fake")
        from django.conf import settings
        from django.core.handlers.wsgi import WSGIHandler

        from accounts.services import user_create
        from tenants.services import org_create

        if mode == "unlimited":
            # The app as it was before the limits: Django's own guard a little above the upload limit.
            settings.DATA_UPLOAD_MAX_MEMORY_SIZE = settings.DOCUMENT_MAX_UPLOAD_BYTES + MB
            settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "RequestBodyLimit" not in m]
            settings.FILE_UPLOAD_HANDLERS = [h for h in settings.FILE_UPLOAD_HANDLERS if "BodyLimit" not in h]
        user = user_create(email="limits@bench.example", password=PASSWORD, name="Bench")
        org = org_create(user=user, name="Bench limits")
        bot = _django.new_bot(org=org, user=user, name="Limits")
        app = WSGIHandler()
        import base64

        basic = "Basic " + base64.b64encode(f"limits@bench.example:{PASSWORD}".encode()).decode()
        chat_path = f"/api/public/bots/{bot.public_id}/chat/"
        upload_path = f"/api/orgs/{org.pk}/bots/{bot.pk}/documents/"
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        multipart = f"multipart/form-data; boundary={BOUNDARY}"
        # Warm up: imports, the database connection and one request of each kind, before measuring.
        _call(app, chat_path, GeneratedBody(32, head=b'{"message": "warm up please"}   '), "application/json")
        _call(
            app, upload_path, GeneratedBody(1024, head=head, tail=tail), multipart, HTTP_AUTHORIZATION=basic
        )

        before = _peak_rss_mb()
        started = time.perf_counter()
        if name == "json_24mb":
            body = GeneratedBody(24 * MB, head=b'{"message": "hi", "pad": [{}', filler=b",{}", tail=b"]}")
            status = _call(app, chat_path, body, "application/json")
        else:
            body = GeneratedBody(200 * MB, head=head, tail=tail)
            extra: dict[str, Any] = {"HTTP_AUTHORIZATION": basic}
            if name == "chunked_200mb":
                extra.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
            status = _call(app, upload_path, body, multipart, **extra)
        seconds = time.perf_counter() - started
        return {
            "status": status,
            "seconds": seconds,
            "rss_growth_mb": max(0.0, _peak_rss_mb() - before),
            "read_bytes": body.read_bytes,
            "body_bytes": body.size,
            "route_limit_bytes": settings.DOCUMENT_MAX_UPLOAD_BYTES + 64 * 1024,
        }


def _measure(name: str, mode: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_limits", "--case", name, "--mode", mode],
        cwd=str(_django.ROOT),
        env={**os.environ, "PYTHONPATH": str(_django.ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> dict[str, Any]:
    rows = []
    info: dict[str, Any] = {}
    json_limited, json_open = _measure("json_24mb", "limited"), _measure("json_24mb", "unlimited")
    rows.append(
        row(
            "json_24mb_rss_growth",
            json_limited["rss_growth_mb"],
            json_open["rss_growth_mb"],
            goal="<= 16 MB",
            ok=json_limited["rss_growth_mb"] <= 16 and json_limited["status"] == 413,
            unit="MB",
        )
    )
    rows.append(
        row(
            "json_24mb_time",
            json_limited["seconds"] * 1000,
            json_open["seconds"] * 1000,
            goal=INFO,
            unit="ms",
        )
    )
    up_limited, up_open = _measure("upload_200mb", "limited"), _measure("upload_200mb", "unlimited")
    rows.append(
        row(
            "upload_200mb_read_before_answer",
            up_limited["read_bytes"] / MB,
            up_open["read_bytes"] / MB,
            goal="<= 1 MB",
            ok=up_limited["read_bytes"] <= MB and up_limited["status"] == 413,
            unit="MB",
        )
    )
    rows.append(
        row(
            "upload_200mb_time", up_limited["seconds"] * 1000, up_open["seconds"] * 1000, goal=INFO, unit="ms"
        )
    )
    chunked = _measure("chunked_200mb", "limited")
    cap = chunked["route_limit_bytes"] + 64 * 1024
    rows.append(
        row(
            "chunked_200mb_read_before_cut",
            chunked["read_bytes"] / MB,
            chunked["body_bytes"] / MB,
            goal=f"<= {cap / MB:.1f} MB (route limit + 64 KiB)",
            ok=chunked["read_bytes"] <= cap and chunked["status"] == 413,
            unit="MB",
        )
    )
    info["statuses"] = {
        "json_24mb": [json_limited["status"], json_open["status"]],
        "upload_200mb": [up_limited["status"], up_open["status"]],
        "chunked_200mb": chunked["status"],
    }
    info["baseline"] = (
        "the same app without RequestBodyLimitMiddleware and BodyLimitUploadHandler, "
        "DATA_UPLOAD_MAX_MEMORY_SIZE at the upload limit + 1 MB (as before the limits)"
    )
    return {"module": "limits", "rows": rows, "info": info}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=["json_24mb", "upload_200mb", "chunked_200mb"])
    parser.add_argument("--mode", choices=["limited", "unlimited"], default="limited")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(_case(args.case, args.mode)))
    else:
        main(run)
