"""``python -m bench.loadtest`` (``make loadtest``): Locust against gunicorn on PostgreSQL, then a
consistency check.

1. (Re)creates the load-test database (``--database``, default ``botwright_loadtest`` on the server
   of ``DATABASE_URL`` or ``postgres://botwright:botwright@127.0.0.1:5432``), migrates it and seeds it
   (``bench.loadtest._db seed``: an org, editors, viewers with sessions, bots with the demo knowledge
   base embedded by the ONNX MiniLM model).
2. Starts gunicorn on a free loopback port (``LOADTEST_WORKERS`` processes × ``LOADTEST_THREADS``
   threads) with the extractive answerer, the database vector store and the local document worker,
   warms every worker up, and runs Locust headless (``bench/loadtest/locustfile.py``) for
   ``LOADTEST_DURATION`` seconds with ``LOADTEST_USERS`` users.
3. Runs the consistency check (``bench.loadtest._db check``) while the server's worker still
   processes the last uploads, then stops gunicorn — also when anything before failed.
4. Prints the per-route table and the goals, and writes ``<out>/result.json``.

The environment the server gets is in ``server_env``: the public channel's per-visitor and per-IP
limits keep their defaults (each Locust visitor has its own visitor id and client address, behind one
trusted proxy hop), while the bot-wide budget is raised to ``LOADTEST_BOT_RATE``: the defaults size it
for one bot's real traffic, and the load puts all its visitors on two bots.

Exit status: 0 when no request failed and the consistency check passed, 1 otherwise (a missed latency
goal is reported, and fails the run only with ``--strict``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.loadtest.report import format_report, goals, result_document

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEFAULT_SERVER = "postgres://botwright:botwright@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"  # loopback only: the server binds here and Locust targets it


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def database_url(name: str) -> str:
    """``name`` on the PostgreSQL server of DATABASE_URL (or the local default); SQLite is refused."""
    base = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"The load test runs on PostgreSQL; DATABASE_URL is {parts.scheme}://…")
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def server_env(*, db_url: str, out: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": db_url,
        "DB_CONN_MAX_AGE": os.environ.get("LOADTEST_DB_CONN_MAX_AGE", "60"),
        "MEDIA_ROOT": str(out / "media"),
        "STORAGE_BACKEND": "local",
        "DOCUMENT_PROCESSING": "thread",
        "EMBEDDER": "minilm",
        "VECTOR_STORE": "database",
        "LLM_PROVIDER": "extractive",
        "GEMINI_API_KEY": "",
        "COGNITO_USER_POOL_ID": "",
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        # One ONNX Runtime thread per query: the server's parallelism is its requests. With the default
        # (one per core) every query's idle pool threads spin, and a public chat cost 100 ms of CPU
        # instead of 58 ms.
        "ONNX_INTRA_OP_THREADS": os.environ.get("ONNX_INTRA_OP_THREADS", "1"),
        "TRUSTED_PROXY_COUNT": "1",
        "PUBLIC_CHAT_RATE_BOT": os.environ.get("LOADTEST_BOT_RATE", "100000/minute"),
        "PYTHONUNBUFFERED": "1",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _run(cmd: list[str], *, env: dict[str, str], log: Path, timeout: float) -> None:
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
    if done.returncode:
        tail = log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"{cmd[2:4]} failed with status {done.returncode}:\n{tail}")


def start_gunicorn(
    *, env: dict[str, str], port: int, workers: int, threads: int, log: Path
) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"{HOST}:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--worker-class", "gthread",
        "--timeout", "60",
        "--graceful-timeout", "20",
        # Longer than any Locust wait, so an idle keep-alive connection is never closed by the server
        # just as the client reuses it (a reset the client would count as an error).
        "--keep-alive", "30",
    ]  # fmt: skip
    with log.open("a") as f:
        # A session of its own, so the stop reaches gunicorn's workers even if the master is stuck.
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def group_cpu_seconds(pgid: int) -> float | None:
    """User + system CPU seconds of the live processes in process group ``pgid`` (Linux; else None).

    With the server's CPU time beside the wall time, a run on a shared, loaded machine still says
    what each request cost and how much of the machine the server actually got.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited meanwhile
        if int(fields[2]) == pgid:  # fields after "(comm)": state, ppid, pgrp, ..., utime (12), stime (13)
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _request(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:  # the loopback server we started
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def wait_ready(base: str, process: subprocess.Popen, *, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {process.returncode}")
        if _request(f"{base}/api/health") == 200:
            return
        time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer /api/health within {timeout_s:g} s")


def warm_up(base: str, fixture: dict[str, Any], *, requests: int) -> None:
    """Searches (no writes) from several threads, so each worker has loaded the embedder and opened
    its database connection before the measurement starts."""
    bot = fixture["bots"][0]
    session = fixture["sessions"]["viewer"][0]
    csrf = "w" * 32
    headers = {
        "Content-Type": "application/json",
        "Cookie": f"sessionid={session}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
    }
    url = f"{base}/api/orgs/{fixture['org_id']}/bots/{bot['id']}/search/"
    body = json.dumps({"query": "warranty"}).encode()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda _: _request(url, data=body, headers=headers), range(requests)))
    if any(code != 200 for code in codes):
        raise SystemExit(f"warm-up searches answered {sorted(set(codes))}, not all 200")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=_env_int("LOADTEST_USERS", 50))
    parser.add_argument("--duration", type=int, default=_env_int("LOADTEST_DURATION", 120), help="seconds")
    parser.add_argument(
        "--spawn-rate", type=float, default=float(os.environ.get("LOADTEST_SPAWN_RATE") or 10)
    )
    parser.add_argument("--workers", type=int, default=_env_int("LOADTEST_WORKERS", 2))
    parser.add_argument("--threads", type=int, default=_env_int("LOADTEST_THREADS", 4))
    parser.add_argument("--database", default=os.environ.get("LOADTEST_DATABASE", "botwright_loadtest"))
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "loadtest")
    parser.add_argument("--check-timeout", type=float, default=180.0, help="seconds to wait for uploads")
    parser.add_argument("--strict", action="store_true", help="also fail when the latency goal is missed")
    args = parser.parse_args(argv)
    if args.users < 1 or args.duration < 1:
        parser.error("--users and --duration must be at least 1")

    # A SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, through the `finally` that stops gunicorn.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("stats.json", "writes.json", "consistency.json", "result.json", "server.log"):
        (out / stale).unlink(missing_ok=True)
    log = out / "server.log"
    db_url = database_url(args.database)
    env = server_env(db_url=db_url, out=out)
    py = sys.executable

    def step(text: str) -> None:
        print(f"[loadtest] {text}", file=sys.stderr, flush=True)

    step(f"database {args.database}: recreate, migrate, seed")
    recreate_database(db_url)
    _run([py, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, log=log, timeout=600)
    fixture_path = out / "fixture.json"
    _run([py, "-m", "bench.loadtest._db", "seed", "--out", str(fixture_path)], env=env, log=log, timeout=600)
    fixture = json.loads(fixture_path.read_text())

    port = free_port()
    base = f"http://{HOST}:{port}"
    step(f"gunicorn on {base}: {args.workers} workers × {args.threads} threads")
    server = start_gunicorn(env=env, port=port, workers=args.workers, threads=args.threads, log=log)
    locust_status = load_start = server_cpu_s = None
    try:
        wait_ready(base, server)
        warm_up(base, fixture, requests=4 * args.workers * args.threads)
        step(f"locust: {args.users} users for {args.duration} s")
        load_start = [round(x, 2) for x in os.getloadavg()]
        cpu_start = group_cpu_seconds(server.pid)
        locust_env = {
            **os.environ,
            "LOADTEST_FIXTURE": str(fixture_path),
            "LOADTEST_OUT": str(out),
            "LOADTEST_EDITORS": str(max(1, args.users // 10)),
        }
        locust_cmd = [py, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless", "--host", base]
        locust_cmd += ["--users", str(args.users), "--spawn-rate", str(args.spawn_rate)]
        locust_cmd += ["--run-time", f"{args.duration}s", "--only-summary", "--loglevel", "WARNING"]
        # In-flight requests finish when the time is up, so every write the server made is seen.
        locust_cmd += ["--stop-timeout", "30"]
        with (out / "locust.log").open("w") as locust_log:
            locust = subprocess.run(
                locust_cmd,
                cwd=ROOT,
                env=locust_env,
                stdout=subprocess.DEVNULL,
                stderr=locust_log,
                timeout=args.duration + 300,
            )
        locust_status = locust.returncode
        cpu_end = group_cpu_seconds(server.pid)
        if cpu_start is not None and cpu_end is not None:
            server_cpu_s = round(cpu_end - cpu_start, 1)
        if not (out / "stats.json").exists():
            raise SystemExit(
                f"locust exited with status {locust_status} without statistics (see {out}/locust.log)"
            )
        step("consistency check (waits for the uploads to be processed)")
        check_cmd = [py, "-m", "bench.loadtest._db", "check", "--fixture", str(fixture_path)]
        check_cmd += ["--writes", str(out / "writes.json"), "--out", str(out / "consistency.json")]
        check_cmd += ["--timeout", str(args.check_timeout)]
        with log.open("a") as server_log:
            check = subprocess.run(
                check_cmd,
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=server_log,
                timeout=args.check_timeout + 300,
            )
        if not (out / "consistency.json").exists():
            raise SystemExit(f"the consistency check crashed with status {check.returncode} (see {log})")
    finally:
        step("stopping gunicorn")
        stop_gunicorn(server)

    stats = json.loads((out / "stats.json").read_text())
    consistency = json.loads((out / "consistency.json").read_text())
    config = {
        "users": args.users,
        "duration_s": args.duration,
        "spawn_rate": args.spawn_rate,
        "workers": args.workers,
        "threads": args.threads,
        "database": args.database,
        "locust_status": locust_status,
        "load_average_start": load_start,
        "server_cpu_s": server_cpu_s,
    }
    document = result_document(config=config, stats=stats, consistency=consistency)
    (out / "result.json").write_text(json.dumps(document, indent=2))
    print(format_report(document))
    print(f"\nJSON: {out / 'result.json'}")
    checks = goals(stats, consistency)
    required = [g for g in checks if g["required"] or args.strict]
    return 0 if all(g["ok"] for g in required) else 1


if __name__ == "__main__":
    sys.exit(main())
