"""``python -m bench [--json] [--timeout S] [module ...]`` — the benchmark suite run by ``make bench``.

Runs every ``bench/bench_<name>.py`` (or the named subset, e.g. ``python -m bench vectors chat``), each
in its own subprocess (``python -m bench._child``) so one module's environment and Django settings
never leak into another, and a module that fails to import, raises, crashes or times out becomes an
error row instead of stopping the suite. A module's ``run()`` returns ``{"module", "rows", "info"}`` or
just the list of rows; each row is ``{"name", "value", "baseline", "ratio", "goal", "ok", "unit"}``.

Output: one JSON document on stdout (machine, per-module info and errors, every row tagged with its
module), then an aligned table (``--json``: the JSON only); the same JSON goes to
``bench/results/latest.json`` and each module's own output to ``bench/results/<name>.log``. Progress
lines go to stderr. Exit status: 0 when every row is ok, 1 when a goal is missed or a module failed,
2 for an unknown module name.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench._common import format_table

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
ORDER = ("vectors", "ingest", "chat", "lambda")  # cheapest first; others follow alphabetically
DEFAULT_TIMEOUT_S = 600.0
ROW_KEYS = ("name", "value", "baseline", "ratio", "goal", "ok", "unit")


def available_modules() -> list[str]:
    names = [p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    """Where the numbers came from; package versions from metadata (importing torch here costs 5 s)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "torch": _version("torch"),
        "sentence_transformers": _version("sentence-transformers"),
        "django": _version("django"),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }


def error_row(module: str, message: str) -> dict[str, Any]:
    last = message.strip().splitlines()[-1] if message.strip() else "failed"
    return {
        "module": module,
        "name": f"{module}: did not run ({last[:120]})",
        "value": None,
        "baseline": None,
        "ratio": None,
        "goal": "runs",
        "ok": False,
        "unit": "",
        "error": message,
    }


def normalise(module: str, result: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(rows, info)`` from either result shape; raises ValueError for anything else."""
    if isinstance(result, list):
        rows, info = result, {}
    elif isinstance(result, dict) and isinstance(result.get("rows"), list):
        rows, info = result["rows"], result.get("info") or {}
    else:
        raise ValueError(f"run() returned {type(result).__name__}, not a list of rows or a dict with 'rows'")
    if not rows:
        raise ValueError("run() returned no rows")
    out = []
    for r in rows:
        if not isinstance(r, dict) or "name" not in r or not isinstance(r.get("ok"), bool):
            raise ValueError(f"a row lacks a name or a boolean ok: {r!r:.200}")
        out.append({"module": module, **{key: r.get(key, "" if key == "unit" else None) for key in ROW_KEYS}})
        out[-1].update({k: v for k, v in r.items() if k not in ROW_KEYS and k != "module"})
    return out, info


def run_module(name: str, *, timeout_s: float, log_dir: Path = RESULTS_DIR) -> dict[str, Any]:
    """Run one module in a subprocess; returns ``{"rows", "info", "runtime_s", "error"?}``.

    The module's stdout and stderr go to ``<log_dir>/<name>.log``.
    """
    log_dir.mkdir(exist_ok=True)
    log_path = log_dir / f"{name}.log"
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    error = None
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp, log_path.open("w") as log:
        out = Path(tmp) / "result.json"
        # A session of its own, so a timeout can stop the module's own children too (e.g. zappa).
        process = subprocess.Popen(
            [sys.executable, "-m", "bench._child", name, str(out)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            returncode = None
            error = f"timed out after {timeout_s:g} s (see {log_path})"
        payload = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
    runtime = round(time.perf_counter() - started, 1)
    if error is None and payload is None:
        tail = log_path.read_text(errors="replace")[-2000:]
        error = f"the subprocess exited with status {returncode} without a result:\n{tail}"
    elif error is None and "error" in payload:
        error = payload["error"]
    if error is None:
        try:
            rows, info = normalise(name, payload["result"])
        except ValueError as exc:
            error = str(exc)
    if error is not None:
        return {"rows": [error_row(name, error)], "info": {}, "runtime_s": runtime, "error": error}
    return {"rows": rows, "info": info, "runtime_s": runtime}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"subset to run (default: all of {available_modules()})")
    parser.add_argument("--json", action="store_true", help="print the JSON document only, no table")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per module")
    args = parser.parse_args(argv)
    known = available_modules()
    unknown = [m for m in args.modules if m not in known]
    if unknown:
        print(f"unknown bench module(s) {unknown}; available: {known}", file=sys.stderr)
        return 2
    selected = [m for m in known if m in args.modules] if args.modules else known

    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    machine = {**machine_info(), "load_average_start": _load()}
    rows: list[dict[str, Any]] = []
    modules: dict[str, Any] = {}
    for name in selected:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        outcome = run_module(name, timeout_s=args.timeout)
        rows += outcome["rows"]
        modules[name] = {k: v for k, v in outcome.items() if k != "rows"}
        status = "ok" if all(r["ok"] for r in outcome["rows"]) else "goal missed"
        status = "ERROR" if "error" in outcome else status
        print(f"[bench] {name}: {status} in {outcome['runtime_s']} s", file=sys.stderr, flush=True)
    machine["load_average_end"] = _load()
    document = {
        "started_at": started_at,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "ok": all(r["ok"] for r in rows),
        "machine": machine,
        "modules": modules,
        "rows": rows,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "latest.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(document, indent=2))
    if not args.json:
        print()
        print(format_table(rows, with_module=True))
        failed = [r["name"] for r in rows if not r["ok"]]
        print(f"\n{len(rows) - len(failed)}/{len(rows)} ok in {document['elapsed_s']} s", end="")
        print(f"; not ok: {failed}" if failed else "")
    return 0 if document["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
