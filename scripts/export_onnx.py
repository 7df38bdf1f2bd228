"""Build the ONNX MiniLM model directory that ``OnnxMiniLMEmbedder`` loads — no torch needed.

    python scripts/export_onnx.py [--output build/minilm-onnx] [--weights fp16|fp32] [--verify]

Writes ``model.onnx`` (the BERT encoder in ONNX Runtime's fused form, written with ``onnx.helper`` from
the packaged safetensors weights), ``tokenizer.json`` and ``embedder_config.json``; see
``integrations/embeddings/onnx_build.py`` for the graph and the guarantees (deterministic, atomic).
``make install`` and ``make package`` run it; the embedder also builds the directory on first use.

``--verify`` compares the built model with sentence-transformers on a few varied texts and fails below
cosine 0.9999; it needs torch and the ``reference`` extra (the test suite runs the full comparison).
Prints a JSON report.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python scripts/export_onnx.py`
    sys.path.insert(0, str(ROOT))

from integrations.embeddings.onnx_build import WEIGHTS, build_model_dir  # noqa: E402

DEFAULT_OUTPUT = ROOT / "build" / "minilm-onnx"
COSINE_FLOOR = 0.9999
VERIFY_TEXTS = (
    "How do I reset my password?",
    "Refunds are issued within 14 days of the return being received at our warehouse.",
    "Die Lieferung erfolgt innerhalb von drei Werktagen.",
    "error: connection refused (ECONNREFUSED 127.0.0.1:5432)",
    "",
    "🙂 emoji, ünïcödé and CJK 東京 text",
    " ".join(f"Clause {i}: the tenant shall keep the premises in good repair." for i in range(60)),
)


def min_cosine_vs_sentence_transformers(model_dir: Path) -> float:
    import numpy as np

    from integrations.embeddings.minilm import SentenceTransformersEmbedder
    from integrations.embeddings.onnx import OnnxMiniLMEmbedder

    ours = OnnxMiniLMEmbedder(model_dir=model_dir).embed(list(VERIFY_TEXTS))
    theirs = SentenceTransformersEmbedder().embed(list(VERIFY_TEXTS))
    return float(np.min(np.sum(ours * theirs, axis=1)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="output directory (replaced)")
    parser.add_argument("--weights", choices=WEIGHTS, default="fp16", help="stored precision of the weights")
    parser.add_argument("--verify", action="store_true", help="compare with sentence-transformers (torch)")
    args = parser.parse_args(argv)
    report = asdict(build_model_dir(args.output, weights=args.weights))
    if args.verify:
        report["min_cosine_vs_sentence_transformers"] = min_cosine_vs_sentence_transformers(args.output)
    print(json.dumps(report, indent=2))
    if args.verify and report["min_cosine_vs_sentence_transformers"] < COSINE_FLOOR:
        print(f"the built model disagrees with sentence-transformers (< {COSINE_FLOOR})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
