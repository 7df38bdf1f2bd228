"""Reading a Qdrant collection through qdrant-client: its shape, its points' payloads, their vectors.

qdrant-client (and grpcio under it) is the optional `migration` extra: it is imported here, lazily,
and this module is only imported by `manage.py import_qdrant` — never by anything the Lambda
function loads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tenants.errors import InvalidInput, Unavailable

from .mapping import QdrantMapping

INSTALL_HINT = (
    "import_qdrant needs qdrant-client, which is not installed: pip install -e '.[migration]' "
    "(or pip install 'qdrant-client>=1.12'); `make install` includes it."
)
SUPPORTED_DISTANCES = ("Cosine", "Dot")


def qdrant_client_module() -> Any:
    try:
        import qdrant_client
    except ImportError:
        raise InvalidInput(INSTALL_HINT)
    return qdrant_client


def connect(
    *, url: str | None = None, api_key: str | None = None, path: str | None = None, timeout: int = 60
) -> Any:
    """A QdrantClient for a server (`url`) or a local-mode directory (`path`, or `:memory:`)."""
    module = qdrant_client_module()
    if bool(url) == bool(path):
        raise InvalidInput("Give exactly one of --url (a Qdrant server) or --path (a local-mode directory).")
    try:
        if path == ":memory:":
            return module.QdrantClient(location=":memory:")
        if path:
            return module.QdrantClient(path=path)
        return module.QdrantClient(url=url, api_key=api_key or None, timeout=timeout)
    except Exception as exc:  # portalocker's "already accessed by another instance", bad URLs, …
        raise Unavailable(f"Cannot open Qdrant at {url or path}: {exc}")


@dataclass(frozen=True)
class CollectionShape:
    name: str
    vector_name: str | None  # None: the collection's single unnamed vector
    dim: int
    distance: str
    points: int
    vector_names: tuple[str, ...]

    def describe(self) -> str:
        which = f"vector {self.vector_name!r}" if self.vector_name else "its vectors"
        return f"collection {self.name!r} ({self.points} points, {which}: {self.dim}-d, {self.distance})"


@dataclass(frozen=True)
class Point:
    id: str
    payload: dict[str, Any] | None
    vector: np.ndarray | None


class QdrantSource:
    def __init__(self, client: Any, *, collection: str, mapping: QdrantMapping) -> None:
        self.client = client
        self.collection = collection
        self.mapping = mapping
        self._shape: CollectionShape | None = None

    def shape(self) -> CollectionShape:
        if self._shape is not None:
            return self._shape
        try:
            info = self.client.get_collection(self.collection)
        except Exception as exc:
            if "not found" in str(exc).lower() or "404" in str(exc):
                raise InvalidInput(f"Qdrant has no collection {self.collection!r}.")
            raise Unavailable(f"Cannot read collection {self.collection!r} from Qdrant: {exc}")
        vectors = info.config.params.vectors
        if vectors is None or (isinstance(vectors, dict) and not vectors):
            raise InvalidInput(
                f"Collection {self.collection!r} has no dense vectors (a sparse-only collection cannot be "
                "imported)."
            )
        if isinstance(vectors, dict):
            names = tuple(sorted(vectors))
            name = self.mapping.vector
            if name is None:
                if len(names) > 1:
                    raise InvalidInput(
                        f"Collection {self.collection!r} has several named vectors ({', '.join(names)}): "
                        "choose one with `qdrant: {vector: <name>}` in the mapping file."
                    )
                name = names[0]
            if name not in vectors:
                raise InvalidInput(
                    f"Collection {self.collection!r} has no vector named {name!r} "
                    f"(it has {', '.join(names)})."
                )
            params = vectors[name]
        else:
            names, name, params = (), None, vectors
            if self.mapping.vector:
                raise InvalidInput(
                    f"The mapping names vector {self.mapping.vector!r}, but collection {self.collection!r} "
                    "has one unnamed vector: remove `vector` from the mapping."
                )
        if getattr(params, "multivector_config", None) is not None:
            raise InvalidInput(
                f"Collection {self.collection!r} stores multivectors, which Botwright cannot import."
            )
        distance = getattr(params.distance, "value", str(params.distance))
        points = info.points_count
        if points is None:
            points = self.client.count(self.collection, exact=True).count
        self._shape = CollectionShape(self.collection, name, int(params.size), distance, int(points), names)
        return self._shape

    def _payload_keys(self, fields: Sequence[str]) -> list[str]:
        keys = {self.mapping.payload[f].split(".", 1)[0] for f in fields if self.mapping.payload.get(f)}
        return sorted(keys)

    def scan(self, *, fields: Sequence[str], page: int = 1000) -> Iterator[list[Point]]:
        """Every point's id and the payload keys holding `fields` (no vectors), page by page."""
        keys = self._payload_keys(fields)
        offset = None
        while True:
            records, offset = self.client.scroll(
                self.collection, limit=page, offset=offset, with_payload=keys or False, with_vectors=False
            )
            if records:
                yield [Point(str(r.id), r.payload, None) for r in records]
            if offset is None:
                return

    def fetch(self, ids: Sequence[str], *, batch: int = 256) -> list[Point]:
        """The points with their whole payload and the imported vector (None when the point has none)."""
        shape = self.shape()
        selector = [shape.vector_name] if shape.vector_name else True
        out: list[Point] = []
        for start in range(0, len(ids), batch):
            chunk = [_point_id(i) for i in ids[start : start + batch]]
            for record in self.client.retrieve(
                self.collection, ids=chunk, with_payload=True, with_vectors=selector
            ):
                vector = record.vector
                if isinstance(vector, dict):
                    vector = vector.get(shape.vector_name) if shape.vector_name else None
                array = np.asarray(vector, dtype=np.float32) if isinstance(vector, list) and vector else None
                out.append(Point(str(record.id), record.payload, array))
        return out

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # closing a local-mode client twice, or a dropped connection: nothing to keep
            return


def _point_id(value: str) -> int | str:
    # Qdrant ids are unsigned integers or UUIDs; scroll gave them to us, we hand them back typed.
    return int(value) if value.isdigit() else value
