"""DynamoDB vector store: exact search over packed vector blocks, optional native vector index.

Table design (one table, on-demand billing; :func:`table_definition` is the one definition,
:func:`create_table` and ``manage.py bootstrap_aws`` create it)
--------------------------------------------------------------------------------------------------

Every item of a bot lives in one partition, ``pk = "<org_id>#<bot_id>"`` (tenant keys start with the
org id). Sort keys (``sk``) have three shapes; ``<ord>`` is the ordinal zero-padded to 10 digits so
that key order is ``(document_id, ordinal)`` order::

    v#<document_id>#<generation>#<ord>   vector block: up to ``block_size`` consecutive chunks of one
                                         document generation; <ord> is the first chunk's ordinal
        v  B   the vectors, row-major: float32 little-endian (dim*4 bytes each),
               or int8 (dim bytes each) when quantised
        s  B   int8 only: one float32 little-endian scale per vector (v_i ≈ q_i * s_i)
        n  N   number of vectors;  d  N  dimension;  o  N  ordinal of the first vector
        r  B   only when the block's ordinals are not consecutive: uint32 little-endian ordinals
    t#<document_id>#<generation>#<ord>   one chunk's text, read only for the top-k hits
        c  S   chunk id;  x  S  text;  m  S  metadata as compact JSON
        f  B   int8 stores only: the float32 vector, to rescore the int8 candidates exactly
        (with the native vector index enabled also: e L  the vector as a list of numbers,
         vp S  copy of pk (index partition),  dg S  "<document_id>#<generation>" (index filter))
    m#<document_id>#<generation>#<ord>   manifest of one upsert call: n N  chunks written
                                         (makes count() and the index threshold cheap)

Vectors are Binary, never lists of numbers, so an exact query reads ≈ 1536 bytes per 384-d chunk
(float32) or ≈ 388 (int8, 1/4 of that): the blocks amortise the keys and attribute names over
~170 (float32) or ~675 (int8) vectors, ~256 KiB per block — under the 400 KB item limit with room to
spare, and about four blocks per 1 MB Query page.

Exact search
------------
One paginated Query, ``pk = :pk AND begins_with(sk, "v#")`` (or one Query per live document
generation when ``active`` names at most a few documents, so a filtered search reads only those
blocks), following ``LastEvaluatedKey``. Blocks whose ``(document_id, generation)`` is not live are
skipped before decoding; each page is scored with :func:`integrations.vectors.exact.top_k` and only
the running top-k are kept. The top-k texts are then fetched with BatchGetItem (unprocessed keys
retried). int8 blocks keep ``int8_rerank × top_k`` candidates instead, and their texts' float32
copies give the final, exact scores (quantisation error otherwise swaps near-tied neighbours).
``bytes_read`` and ``items_read`` on the store record the DynamoDB item size and count of everything the
last search read, computed with AWS's item-size rules (moto's ConsumedCapacity is a constant, so it
cannot be used); the same figures go to :mod:`integrations.metering` as ``vector_bytes_read`` and
``vector_items_read``.

Warm queries
------------
The decoded matrix of a cold query is kept in the container (:mod:`integrations.vectors.cache`), keyed
by the bot's live ``(document, generation)`` set that every search passes in ``active``. A later query
for the same set, or a subset of it (a filtered search, a bot after a delete), scores the cached matrix
and reads only the winners' text items: ``top_k`` items instead of ``N × 1536`` bytes. A re-index or a
new document changes the live set, so the next query reads the blocks again; generations are never
rewritten, so a cached matrix can never be stale for the set it is keyed by. The cache is an LRU bounded
by ``cache_max_bytes`` (setting ``VECTOR_CACHE_MAX_BYTES``) across the bots of the container.

Writes and deletes
------------------
BatchWriteItem in groups of 25, retrying ``UnprocessedItems`` with exponential backoff and jitter.
``upsert`` is idempotent (the same call writes the same keys). Deletes Query the keys
(``ProjectionExpression`` pk, sk) of the affected prefixes and batch-delete them, vector blocks
first so that a half-finished delete never leaves searchable vectors without texts.
``count`` sums the manifests: chunks of every stored generation (old and new during a re-index).

Native vector index (optional)
------------------------------
botocore (≥ 1.43) models DynamoDB's ``SearchVectors`` API and table ``VectorIndexes``. A vector
index is approximate (ANN), answers at most TopK=100, filters only by equality, needs the vector as
a list of numbers on the item, and is not emulated by moto. It pays off only for large bots, where
an exact query would read tens of megabytes (``N × 1536`` bytes, one 1 MB page at a time). With
``vector_index_threshold`` set, the store also writes the ``e``/``vp``/``dg`` attributes on text
items, and a search over a bot with at least that many live chunks asks the index first
(over-fetching, then keeping only live generations). It falls back to exact search when the index
errors (missing, backfilling) or when fewer than ``top_k`` live hits survive the filter, so the
live-generation contract holds either way. Create the table with ``create_table(...,
vector_index_dim=384)`` to use it.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .. import metering
from . import exact
from .base import SearchHit, VectorItem
from .cache import DEFAULT_CACHE_MAX_BYTES, LiveMatrix, MatrixCache, assemble, live_pairs

logger = logging.getLogger(__name__)

Quantization = Literal["float32", "int8"]

VECTOR_INDEX_NAME = "chunk-vectors"
# Largest TopK SearchVectors accepts.
VECTOR_INDEX_MAX_TOP_K = 100
# DynamoDB's limits per BatchWriteItem / BatchGetItem request.
BATCH_WRITE_MAX = 25
BATCH_GET_MAX = 100
# Target payload per vector block. The hard item limit is 400 KB; staying near 256 KiB leaves room
# for keys and for emulators (moto) that count Binary by its base64 length (4/3 larger).
BLOCK_TARGET_BYTES = 256 * 1024
# With at most this many live documents a search queries each one's blocks directly instead of the
# whole partition: the bytes read then scale with the filtered documents only.
PER_DOCUMENT_QUERY_MAX = 8
# How long manifests are cached for the index-threshold decision (they only change on upsert/delete).
MANIFEST_CACHE_SECONDS = 60.0
_ORDINAL_DIGITS = 10
_ID_RE = re.compile(r"^[A-Za-z0-9_.:@+=-]+$")


class DynamoDBStoreError(RuntimeError):
    """A DynamoDB batch could not be completed after retries."""


def tenant_pk(org_id: str, bot_id: str) -> str:
    """Partition key of a bot: the org id first, so every tenant key starts with the org id."""
    return f"{_check_id('org_id', org_id)}#{_check_id('bot_id', bot_id)}"


KEY_SCHEMA = (
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
)
KEY_ATTRIBUTES = (
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
)
# Attributes the vector index partitions and filters by; declared only when the index exists.
INDEX_ATTRIBUTES = (
    {"AttributeName": "vp", "AttributeType": "S"},
    {"AttributeName": "dg", "AttributeType": "S"},
)


def table_definition(table_name: str, *, vector_index_dim: int | None = None) -> dict[str, Any]:
    """The ``CreateTable`` request for the vectors table: on-demand, ``pk``/``sk`` strings.

    ``vector_index_dim`` adds the optional native vector index (``COSINE``, partitioned by bot) that
    searches use above ``vector_index_threshold``; leave it None for exact search only.
    """
    definition: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": [dict(a) for a in KEY_ATTRIBUTES],
        "KeySchema": [dict(k) for k in KEY_SCHEMA],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if vector_index_dim is not None:
        definition["AttributeDefinitions"] += [dict(a) for a in INDEX_ATTRIBUTES]
        definition["VectorIndexes"] = [vector_index_definition(vector_index_dim)]
    return definition


def create_table(client: Any, table_name: str, *, vector_index_dim: int | None = None) -> None:
    """Create the vectors table from :func:`table_definition` and wait until it exists."""
    client.create_table(**table_definition(table_name, vector_index_dim=vector_index_dim))
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def vector_index_definition(dim: int) -> dict[str, Any]:
    """The ``VectorIndexes`` entry for :func:`create_table` (or ``UpdateTable`` ``VectorIndexUpdates``)."""
    return {
        "IndexName": VECTOR_INDEX_NAME,
        "VectorAttribute": {"AttributeName": "e"},
        "SearchSchema": [
            {"AttributeName": "vp", "SearchSchemaElementType": "HASH"},
            {"AttributeName": "dg", "SearchSchemaElementType": "INLINE_FILTER"},
        ],
        # Keys are always projected; the text attributes make one SearchVectors call enough.
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["c", "x", "m"]},
        "Dimensions": dim,
        "DistanceFunction": "COSINE",
    }


# --- item sizes ------------------------------------------------------------------------------


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Size in bytes of a low-level DynamoDB item, per AWS's item-size rules.

    Each attribute counts its name's UTF-8 length plus its value: strings their UTF-8 length,
    binaries their raw length, numbers one byte per two significant digits plus one, booleans and
    nulls one byte, lists and maps 3 bytes plus one byte and the size of each element (map keys
    count like attribute names), sets the sum of their elements.
    """
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode("utf-8"))
    if kind == "B":
        return len(data)
    if kind == "N":
        return _number_size(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _value_size(v) for k, v in data.items())
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in data)
    if kind == "NS":
        return sum(_number_size(n) for n in data)
    if kind == "BS":
        return sum(len(b) for b in data)
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def _number_size(text: str) -> int:
    mantissa = text.lower().lstrip("+-").split("e")[0].replace(".", "")
    digits = len(mantissa.strip("0")) or 1
    return (digits + 1) // 2 + 1


# --- the store -------------------------------------------------------------------------------


@dataclass
class _Candidate:
    score: float
    document_id: str
    generation: int
    ordinal: int
    approximate: bool = False  # scored from int8; rescored from the text item's float32 copy


class DynamoDBVectorStore:
    """``VectorStore`` on one DynamoDB table; see the module docstring for the layout.

    ``quantization`` applies to new writes; blocks record their own encoding, so a table may hold
    both. ``block_size`` (vectors per block) defaults to ~256 KiB of payload. ``query_page_limit``
    caps the items per Query page (a test hook; DynamoDB's own page limit is 1 MB).

    With int8 blocks the scan keeps the best ``int8_rerank × top_k`` candidates and rescores them
    with the float32 copy stored on their text items (which the hits need anyway), so int8 costs a
    quarter of the bytes per query yet returns float32-exact scores and ~float32 recall.

    ``cache_max_bytes`` bounds the container's cache of decoded matrices (0 disables it; see "Warm
    queries" in the module docstring).
    """

    def __init__(
        self,
        table_name: str,
        *,
        client: Any | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        quantization: Quantization = "float32",
        block_size: int | None = None,
        vector_index_threshold: int | None = None,
        query_page_limit: int | None = None,
        int8_rerank: int = 3,
        max_retries: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES,
    ) -> None:
        if quantization not in ("float32", "int8"):
            raise ValueError(f"quantization must be 'float32' or 'int8', got {quantization!r}")
        if block_size is not None and block_size < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        if vector_index_threshold is not None and vector_index_threshold < 0:
            raise ValueError(f"vector_index_threshold must be >= 0, got {vector_index_threshold}")
        self.table_name = table_name
        self.quantization: Quantization = quantization
        self.block_size = block_size
        self.vector_index_threshold = vector_index_threshold
        self.query_page_limit = query_page_limit
        self.int8_rerank = int8_rerank
        self.max_retries = max_retries
        self._sleep = sleep
        self._client = client
        self._region = region
        self._endpoint_url = endpoint_url
        self._client_lock = threading.Lock()
        self._manifest_cache: dict[str, tuple[float, list[tuple[str, int, int]]]] = {}
        self.matrix_cache = MatrixCache(cache_max_bytes)
        # Diagnostics of the last search (read by the benchmark and the tests).
        self.bytes_read = 0
        self.items_read = 0
        self.last_search_path: Literal["exact", "index", "none"] = "none"
        self.last_cache_hit = False

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    import boto3

                    self._client = boto3.client(
                        "dynamodb", region_name=self._region, endpoint_url=self._endpoint_url
                    )
        return self._client

    # --- writes --------------------------------------------------------------------------------

    def upsert(
        self,
        *,
        org_id: str,
        bot_id: str,
        document_id: str,
        generation: int,
        items: Sequence[VectorItem],
    ) -> None:
        pk = tenant_pk(org_id, bot_id)
        _check_id("document_id", document_id)
        _check_generation(generation)
        if not items:
            return
        ordered = sorted(items, key=lambda item: item.ordinal)
        ordinals = [item.ordinal for item in ordered]
        for item in ordered:
            if item.document_id != document_id:
                raise ValueError(
                    f"item {item.chunk_id!r} belongs to document {item.document_id!r}, not {document_id!r}"
                )
            if not 0 <= item.ordinal < 10**_ORDINAL_DIGITS:
                raise ValueError(f"ordinal {item.ordinal} is out of range")
        if len(set(ordinals)) != len(ordinals):
            raise ValueError("items contain duplicate ordinals")
        matrix = np.stack([np.asarray(item.vector, dtype=np.float32).ravel() for item in ordered])
        dim = matrix.shape[1]
        if not np.all(np.isfinite(matrix)):
            raise ValueError("vectors contain NaN or infinite values")

        prefix = f"{document_id}#{generation}#"
        requests: list[dict[str, Any]] = []
        with_index = self.vector_index_threshold is not None
        for row, item in enumerate(ordered):
            text_item: dict[str, Any] = {
                "pk": {"S": pk},
                "sk": {"S": f"t#{prefix}{_ord(item.ordinal)}"},
                "c": {"S": item.chunk_id},
                "x": {"S": item.text},
                "m": {"S": json.dumps(item.metadata or {}, separators=(",", ":"), ensure_ascii=False)},
            }
            if self.quantization == "int8":
                text_item["f"] = {"B": exact.pack_float32(matrix[row])}
            if with_index:
                text_item["e"] = {"L": [{"N": _float_text(v)} for v in matrix[row]]}
                text_item["vp"] = {"S": pk}
                text_item["dg"] = {"S": f"{document_id}#{generation}"}
            requests.append({"PutRequest": {"Item": text_item}})
        per_block = self.block_size or max(1, BLOCK_TARGET_BYTES // self._bytes_per_vector(dim))
        for start in range(0, len(ordered), per_block):
            block_ordinals = ordinals[start : start + per_block]
            requests.append(
                {
                    "PutRequest": {
                        "Item": self._block_item(
                            pk, prefix, block_ordinals, matrix[start : start + per_block]
                        )
                    }
                }
            )
        requests.append(
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": pk},
                        "sk": {"S": f"m#{prefix}{_ord(ordinals[0])}"},
                        "n": {"N": str(len(ordered))},
                    }
                }
            }
        )
        self._batch_write(requests)
        self._manifest_cache.pop(pk, None)

    def delete_document(
        self, *, org_id: str, bot_id: str, document_id: str, generation: int | None = None
    ) -> None:
        pk = tenant_pk(org_id, bot_id)
        _check_id("document_id", document_id)
        suffix = (
            f"{document_id}#" if generation is None else f"{document_id}#{_check_generation(generation)}#"
        )
        # Vectors first: once they are gone the document is unsearchable, whatever happens next.
        for kind in ("v", "t", "m"):
            keys = [item for page in self._query(pk, f"{kind}#{suffix}", keys_only=True) for item in page]
            self._batch_write([{"DeleteRequest": {"Key": key}} for key in keys])
        self._manifest_cache.pop(pk, None)
        # Not needed for correctness (the live set no longer names these vectors): frees the memory now.
        self.matrix_cache.discard(pk, document_id, generation)

    def delete_bot(self, *, org_id: str, bot_id: str) -> None:
        pk = tenant_pk(org_id, bot_id)
        for kind in ("v", "t", "m"):
            keys = [item for page in self._query(pk, f"{kind}#", keys_only=True) for item in page]
            self._batch_write([{"DeleteRequest": {"Key": key}} for key in keys])
        # Anything else a future version writes under the bot's partition goes too.
        leftovers = [item for page in self._query(pk, "", keys_only=True) for item in page]
        self._batch_write([{"DeleteRequest": {"Key": key}} for key in leftovers])
        self._manifest_cache.pop(pk, None)
        self.matrix_cache.discard(pk)

    # --- reads ---------------------------------------------------------------------------------

    def count(self, *, org_id: str, bot_id: str, document_id: str | None = None) -> int:
        pk = tenant_pk(org_id, bot_id)
        prefix = "m#" if document_id is None else f"m#{_check_id('document_id', document_id)}#"
        return sum(int(item["n"]["N"]) for page in self._query(pk, prefix) for item in page)

    def read_document(
        self, *, org_id: str, bot_id: str, document_id: str, generation: int
    ) -> list[VectorItem]:
        pk = tenant_pk(org_id, bot_id)
        prefix = f"{_check_id('document_id', document_id)}#{_check_generation(generation)}#"
        vectors: dict[int, np.ndarray] = {}
        for page in self._query(pk, f"v#{prefix}"):
            for block in page:
                matrix, ordinals = _decode_block(block)
                vectors.update(zip(ordinals.tolist(), matrix, strict=True))
        items = []
        for page in self._query(pk, f"t#{prefix}"):
            for text_item in page:
                _, _, ordinal = _parse_text_key(text_item["sk"]["S"])
                # int8 blocks are lossy; their text items keep the exact float32 copy.
                if "f" in text_item:
                    raw = _binary(text_item["f"])
                    vector = exact.unpack_float32(raw, len(raw) // 4)[0]
                elif ordinal in vectors:
                    vector = vectors[ordinal]
                else:
                    raise DynamoDBStoreError(f"chunk {ordinal} of {prefix} has a text item but no vector")
                items.append(
                    VectorItem(
                        chunk_id=text_item["c"]["S"],
                        document_id=document_id,
                        ordinal=ordinal,
                        vector=np.array(vector, dtype=np.float32),
                        text=text_item["x"]["S"],
                        metadata=json.loads(text_item["m"]["S"]) if "m" in text_item else {},
                    )
                )
        return sorted(items, key=lambda item: item.ordinal)

    def search(
        self,
        *,
        org_id: str,
        bot_id: str,
        query: np.ndarray,
        top_k: int,
        active: Mapping[str, int],
    ) -> list[SearchHit]:
        pk = tenant_pk(org_id, bot_id)
        self.bytes_read = self.items_read = 0
        self.last_search_path = "none"
        self.last_cache_hit = False
        query = np.asarray(query, dtype=np.float32).ravel()
        if top_k <= 0 or not active:
            return []
        if self.vector_index_threshold is not None and top_k <= VECTOR_INDEX_MAX_TOP_K:
            live = self._live_count(pk, active)
            if live >= self.vector_index_threshold:
                hits = self._search_index(pk, query, top_k, active, live)
                if hits is not None:
                    self.last_search_path = "index"
                    return hits
        self.last_search_path = "exact"
        pool = top_k * max(1, self.int8_rerank)
        wanted = live_pairs(active)
        cached = self.matrix_cache.lookup(pk, wanted) if self.matrix_cache.max_bytes else None
        if cached is not None:
            self.last_cache_hit = True
            candidates = _cached_candidates(*cached, query, pool)
        else:
            candidates = self._exact_candidates(pk, query, pool, active, wanted)
        if not any(c.approximate for c in candidates):
            candidates = candidates[:top_k]
        return self._hydrate(pk, query, candidates, top_k)

    # --- exact search --------------------------------------------------------------------------

    def _exact_candidates(
        self, pk: str, query: np.ndarray, top_k: int, active: Mapping[str, int], wanted: frozenset
    ) -> list[_Candidate]:
        """Read the live blocks page by page keeping the running top-k; cache the decoded matrix."""
        if len(active) <= PER_DOCUMENT_QUERY_MAX:
            prefixes = [f"v#{doc}#{gen}#" for doc, gen in sorted(active.items())]
        else:
            prefixes = ["v#"]
        best: list[_Candidate] = []
        # Decoded blocks kept for the cache while they fit in its budget (None once they do not).
        collected: list[tuple[tuple[str, int], np.ndarray, np.ndarray, bool]] | None = (
            [] if self.matrix_cache.max_bytes else None
        )
        collected_bytes = 0
        for prefix in prefixes:
            for page in self._query(pk, prefix):
                matrices: list[np.ndarray] = []
                refs: list[tuple[str, int, np.ndarray, bool]] = []
                for item in page:
                    self._count_read(item)
                    document_id, generation = _parse_block_key(item["sk"]["S"])
                    # Skip stale or filtered-out generations before paying for decoding.
                    if active.get(document_id) != generation:
                        continue
                    block, ordinals = _decode_block(item)
                    exact.check_dimension(query, block)
                    matrices.append(block)
                    refs.append((document_id, generation, ordinals, "s" in item))
                    if collected is not None:
                        collected.append(((document_id, generation), block, ordinals, "s" in item))
                        collected_bytes += block.nbytes + ordinals.nbytes
                        if collected_bytes > self.matrix_cache.max_bytes:
                            collected = None
                if not matrices:
                    continue
                matrix = matrices[0] if len(matrices) == 1 else np.concatenate(matrices)
                indices, scores = exact.top_k(matrix, query, top_k)
                offsets = np.cumsum([0] + [len(r[2]) for r in refs])
                for index, score in zip(indices.tolist(), scores.tolist(), strict=True):
                    block_no = int(np.searchsorted(offsets, index, side="right")) - 1
                    document_id, generation, ordinals, approximate = refs[block_no]
                    ordinal = int(ordinals[index - offsets[block_no]])
                    best.append(_Candidate(score, document_id, generation, ordinal, approximate))
                best = _best(best, top_k)
        if collected is not None:
            self.matrix_cache.store(pk, assemble(wanted, collected, dim=query.shape[0]))
        return best

    def _hydrate(
        self, pk: str, query: np.ndarray, candidates: list[_Candidate], top_k: int
    ) -> list[SearchHit]:
        if not candidates:
            return []
        keys = {f"t#{c.document_id}#{c.generation}#{_ord(c.ordinal)}": c for c in candidates}
        texts: dict[str, dict[str, Any]] = {}
        for item in self._batch_get(pk, list(keys)):
            self._count_read(item)
            texts[item["sk"]["S"]] = item
        ranked: list[tuple[_Candidate, dict[str, Any]]] = []
        for sk, candidate in keys.items():
            item = texts.get(sk)
            if item is None:
                # Vectors without their text: a delete or write was interrupted half-way. The hit
                # cannot be shown or cited, so it is dropped rather than returned empty.
                logger.warning("vector store: text item %s/%s missing; hit dropped", pk, sk)
                continue
            if candidate.approximate and "f" in item:
                exact_vector = exact.unpack_float32(_binary(item["f"]), query.shape[0])[0]
                candidate.score = float(exact_vector @ query)
                candidate.approximate = False
            ranked.append((candidate, item))
        ranked.sort(key=lambda pair: _rank_key(pair[0]))
        return [_hit(candidate, item) for candidate, item in ranked[:top_k]]

    # --- native vector index -------------------------------------------------------------------

    def _live_count(self, pk: str, active: Mapping[str, int]) -> int:
        cached = self._manifest_cache.get(pk)
        now = time.monotonic()
        if cached is None or now - cached[0] > MANIFEST_CACHE_SECONDS:
            manifests = []
            for page in self._query(pk, "m#"):
                for item in page:
                    self._count_read(item)
                    document_id, generation = _parse_block_key(item["sk"]["S"])
                    manifests.append((document_id, generation, int(item["n"]["N"])))
            cached = (now, manifests)
            self._manifest_cache[pk] = cached
        return sum(n for doc, gen, n in cached[1] if active.get(doc) == gen)

    def _search_index(
        self, pk: str, query: np.ndarray, top_k: int, active: Mapping[str, int], live: int
    ) -> list[SearchHit] | None:
        """Search the native vector index; None means "use exact search instead"."""
        values: dict[str, Any] = {":vp": {"S": pk}}
        condition = "vp = :vp"
        if len(active) == 1:
            # One live document: the equality filter returns only its live generation.
            ((document_id, generation),) = active.items()
            condition += " AND dg = :dg"
            values[":dg"] = {"S": f"{document_id}#{generation}"}
            request_k = top_k
        else:
            # Other generations (mid re-index) and filtered-out documents share the partition;
            # over-fetch so that enough live hits usually survive the filter below.
            request_k = min(VECTOR_INDEX_MAX_TOP_K, max(4 * top_k, top_k + 20))
        try:
            response = self.client.search_vectors(
                TableName=self.table_name,
                IndexName=VECTOR_INDEX_NAME,
                SearchVector=[{"N": _float_text(v)} for v in query],
                TopK=request_k,
                SearchConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:  # any index failure (missing, backfilling, throttled) -> exact path
            logger.warning("vector index search failed (%s); falling back to exact search", exc)
            return None
        candidates: list[tuple[_Candidate, dict[str, Any]]] = []
        for result in response.get("SearchResults", []):
            item = result["Item"]
            self._count_read(item)
            document_id, generation, ordinal = _parse_text_key(item["sk"]["S"])
            if active.get(document_id) != generation:
                continue
            # COSINE distance is 1 - cosine similarity (0 = identical, 2 = opposite).
            score = float(np.float32(1.0 - float(result["Score"])))
            candidates.append((_Candidate(score, document_id, generation, ordinal), item))
        if len(candidates) < min(top_k, live):
            return None
        candidates.sort(key=lambda pair: _rank_key(pair[0]))
        return [_hit(candidate, item) for candidate, item in candidates[:top_k]]

    # --- DynamoDB plumbing ---------------------------------------------------------------------

    def _count_read(self, item: Mapping[str, Any]) -> None:
        size = item_size(item)
        self.bytes_read += size
        self.items_read += 1
        metering.add("vector_bytes_read", size)
        metering.add("vector_items_read", 1)

    def _query(self, pk: str, prefix: str, *, keys_only: bool = False) -> Iterator[list[dict[str, Any]]]:
        """Yield the pages of ``pk = :pk AND begins_with(sk, :prefix)``, following LastEvaluatedKey."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
            "ExpressionAttributeValues": {":pk": {"S": pk}},
        }
        if prefix:
            kwargs["KeyConditionExpression"] = "#pk = :pk AND begins_with(#sk, :prefix)"
            kwargs["ExpressionAttributeValues"][":prefix"] = {"S": prefix}
        else:
            kwargs["KeyConditionExpression"] = "#pk = :pk"
        if keys_only:
            kwargs["ProjectionExpression"] = "#pk, #sk"
        if self.query_page_limit:
            kwargs["Limit"] = self.query_page_limit
        while True:
            response = self.client.query(**kwargs)
            yield response.get("Items", [])
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return
            kwargs["ExclusiveStartKey"] = last_key

    def _batch_write(self, requests: Sequence[dict[str, Any]]) -> None:
        for group in _chunks(requests, BATCH_WRITE_MAX):
            pending = list(group)
            attempt = 0
            while pending:
                response = self.client.batch_write_item(RequestItems={self.table_name: pending})
                pending = response.get("UnprocessedItems", {}).get(self.table_name, [])
                if pending:
                    attempt += 1
                    if attempt > self.max_retries:
                        raise DynamoDBStoreError(
                            f"{len(pending)} writes to {self.table_name} still unprocessed after "
                            f"{self.max_retries} retries; the table is throttled — retry the operation later"
                        )
                    self._backoff(attempt)

    def _batch_get(self, pk: str, sort_keys: Sequence[str]) -> Iterator[dict[str, Any]]:
        for group in _chunks(sort_keys, BATCH_GET_MAX):
            request: dict[str, Any] = {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for sk in group]}
            attempt = 0
            while request:
                response = self.client.batch_get_item(RequestItems={self.table_name: request})
                yield from response.get("Responses", {}).get(self.table_name, [])
                request = response.get("UnprocessedKeys", {}).get(self.table_name) or {}
                if request:
                    attempt += 1
                    if attempt > self.max_retries:
                        raise DynamoDBStoreError(
                            f"reads from {self.table_name} still unprocessed after {self.max_retries} retries"
                        )
                    self._backoff(attempt)

    def _backoff(self, attempt: int) -> None:
        # Full jitter (AWS's recommendation): spreads retries of concurrent writers apart.
        self._sleep(random.uniform(0, min(5.0, 0.05 * 2**attempt)))

    def _bytes_per_vector(self, dim: int) -> int:
        return dim + 4 if self.quantization == "int8" else dim * 4

    def _block_item(
        self, pk: str, prefix: str, ordinals: Sequence[int], matrix: np.ndarray
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": {"S": pk},
            "sk": {"S": f"v#{prefix}{_ord(ordinals[0])}"},
            "n": {"N": str(len(ordinals))},
            "d": {"N": str(matrix.shape[1])},
            "o": {"N": str(ordinals[0])},
        }
        if self.quantization == "int8":
            data, scales = exact.quantize_int8_matrix(matrix)
            item["v"] = {"B": data}
            item["s"] = {"B": exact.pack_scales(scales)}
        else:
            item["v"] = {"B": exact.pack_float32(matrix)}
        if ordinals[-1] - ordinals[0] != len(ordinals) - 1:
            item["r"] = {"B": np.asarray(ordinals, dtype="<u4").tobytes()}
        return item


# --- helpers -----------------------------------------------------------------------------------


def _cached_candidates(
    entry: LiveMatrix, mask: np.ndarray | None, query: np.ndarray, top_k: int
) -> list[_Candidate]:
    exact.check_dimension(query, entry.matrix)
    indices, scores = exact.top_k(entry.matrix, query, top_k, mask)
    candidates = []
    for index, score in zip(indices.tolist(), scores.tolist(), strict=True):
        document_id, generation = entry.segments[entry.segment_of_row[index]]
        approximate = bool(entry.approximate[index]) if entry.approximate is not None else False
        candidates.append(_Candidate(score, document_id, generation, int(entry.ordinals[index]), approximate))
    return _best(candidates, top_k)


def _hit(candidate: _Candidate, item: Mapping[str, Any]) -> SearchHit:
    return SearchHit(
        chunk_id=item["c"]["S"],
        document_id=candidate.document_id,
        score=float(candidate.score),
        text=item["x"]["S"],
        metadata=json.loads(item["m"]["S"]) if "m" in item else {},
    )


def _decode_block(item: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    n = int(item["n"]["N"])
    dim = int(item["d"]["N"])
    data = _binary(item["v"])
    if "s" in item:
        matrix = exact.dequantize_int8(data, exact.unpack_scales(_binary(item["s"])), dim)
    else:
        matrix = exact.unpack_float32(data, dim)
    if matrix.shape[0] != n:
        raise ValueError(f"corrupt vector block {item['sk']['S']}: {matrix.shape[0]} vectors, n={n}")
    if "r" in item:
        ordinals = np.frombuffer(_binary(item["r"]), dtype="<u4").astype(np.int64)
    else:
        first = int(item["o"]["N"])
        ordinals = np.arange(first, first + n, dtype=np.int64)
    return matrix, ordinals


def _binary(value: Mapping[str, Any]) -> bytes:
    data = value["B"]
    # boto3 returns bytes; a boto3.dynamodb.types.Binary wrapper exposes .value.
    return data if isinstance(data, bytes | bytearray) else bytes(data.value)


def _parse_block_key(sk: str) -> tuple[str, int]:
    _, document_id, generation, _ = sk.split("#")
    return document_id, int(generation)


def _parse_text_key(sk: str) -> tuple[str, int, int]:
    _, document_id, generation, ordinal = sk.split("#")
    return document_id, int(generation), int(ordinal)


def _rank_key(candidate: _Candidate) -> tuple[float, str, int]:
    return (-candidate.score, candidate.document_id, candidate.ordinal)


def _best(candidates: list[_Candidate], k: int) -> list[_Candidate]:
    return sorted(candidates, key=_rank_key)[:k]


def _ord(ordinal: int) -> str:
    return str(ordinal).zfill(_ORDINAL_DIGITS)


def _float_text(value: float) -> str:
    # Shortest text that round-trips the float32 value: ~9 significant digits, not float64's 17.
    return np.format_float_positional(np.float32(value), unique=True, trim="0")


def _check_id(field: str, value: str) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise ValueError(
            f"{field} {value!r} is not a valid key part: use letters, digits and _.:@+=- (no '#' or spaces)"
        )
    return value


def _check_generation(generation: int) -> int:
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
        raise ValueError(f"generation must be a non-negative integer, got {generation!r}")
    return generation


def _chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
