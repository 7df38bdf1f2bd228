"""``python -m bench._child <name> <out.json>``: run ``bench.bench_<name>.run()`` and write what it returns.

The runner (``python -m bench``) starts one of these per bench module, so a module's environment and
Django settings never leak into another. Whatever happens — an import error, a missing ``run()``, an
exception — a JSON file is written: the module's result as returned, or ``{"error": traceback}``.
Normalising the result's shape is the runner's job.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars and arrays (``.item()`` / ``.tolist()``), else ``str``."""
    for method in ("item", "tolist"):
        if hasattr(value, method):
            try:
                return getattr(value, method)()
            except (TypeError, ValueError):
                continue
    return str(value)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench._child <name> <out.json>", file=sys.stderr)
        return 2
    name, out = argv
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        module = importlib.import_module(f"bench.bench_{name}")
        run = getattr(module, "run", None)
        if not callable(run):
            raise RuntimeError(f"bench/bench_{name}.py has no run() function")
        payload: Any = {"result": run()}
    except Exception:  # reported as an error row by the runner, never a crash of the whole suite
        payload = {"error": traceback.format_exc()}
    Path(out).write_text(json.dumps(payload, default=_plain), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
