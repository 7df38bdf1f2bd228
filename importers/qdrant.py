"""Importing a Qdrant collection's passages and vectors into the bots imported from Supabase.

1. Scan every point's `document_id`/`bot_id` (no vectors) and group the points by document.
2. Match each group to a Botwright document: the one imported from Supabase with that source id,
   else one made from the passages themselves (the source had no file for it), in the bot its
   `bot_id` names. A point whose bot is not its document's bot is refused: a passage never lands
   in another bot, let alone another org.
3. Unless `--reembed`: check that the vectors live in the current embedder's space (a sample of
   passages embedded again must match, cosine ≥ 0.99), and stop with a message otherwise.
4. Per document: fetch its points with vectors and write them as one new generation through the
   configured VectorStore, switched live atomically (the re-index contract, `generations.py`).
   An unchanged document (same points, texts and vectors as last time) is not written again.
5. Verify: read a sample back from the store (cosine ≥ 0.9999 with what was written) and search
   each sampled passage's own text through Botwright's retrieval (it must come first).
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rest_framework.exceptions import APIException

from bots.models import Bot
from documents.models import Chunk, Document
from documents.retrieval import retrieve
from documents.services import document_upload
from integrations.embeddings.base import Embedder
from integrations.vectors.base import VectorStore
from tenants.errors import ApplicationError, InvalidInput

from .generations import GenerationSuperseded, ImportedPassage, document_generation_write
from .mapping import QdrantMapping, payload_value
from .models import Kind
from .progress import BarFactory, no_progress
from .qdrant_source import SUPPORTED_DISTANCES, Point, QdrantSource
from .records import RecordIndex, checksum
from .report import ImportReport
from .vectorspace import check_same_space, unit_rows

logger = logging.getLogger(__name__)

SOURCE = "qdrant"
SPACE_SAMPLE = 32
VERIFY_SAMPLE = 20
READ_BACK_MIN_COSINE = 0.9999
EMBED_BATCH = 64


@dataclass
class _Group:
    source_id: str
    point_ids: list[str] = field(default_factory=list)
    bot_ids: set[str] = field(default_factory=set)


@dataclass
class _Plan:
    group: _Group
    bot: Bot
    document: Document | None  # None: made from the passages (the document exists only in Qdrant)


@dataclass
class _Sample:
    org_id: str
    bot_id: str
    document_id: str
    ordinal: int
    text: str
    vector: np.ndarray | None


@dataclass
class _Passage:
    point_id: str
    text: str
    index: int | None
    page: int | None
    vector: np.ndarray | None


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class QdrantImport:
    def __init__(
        self,
        *,
        source: QdrantSource,
        mapping: QdrantMapping,
        report: ImportReport,
        embedder: Embedder,
        store: VectorStore,
        dry_run: bool = False,
        reembed: bool = False,
        bars: BarFactory = no_progress,
        space_sample: int = SPACE_SAMPLE,
        verify_sample: int = VERIFY_SAMPLE,
        seed: int = 0,
    ) -> None:
        self.source = source
        self.mapping = mapping
        self.report = report
        self.embedder = embedder
        self.store = store
        self.dry_run = dry_run
        self.reembed = reembed
        self.bars = bars
        self.space_sample = space_sample
        self.verify_sample = verify_sample
        self.rng = random.Random(seed)
        self.supabase = RecordIndex("supabase")
        self.records = RecordIndex(SOURCE)
        self.samples: list[_Sample] = []
        self._seen = 0
        self.points = report.entity("points")
        self.documents = report.entity("documents")

    @property
    def collection(self) -> str:
        return self.source.collection

    def run(self) -> ImportReport:
        shape = self.source.shape()
        self.report.info["collection"] = {
            "name": shape.name,
            "points": shape.points,
            "vector": shape.vector_name,
            "dim": shape.dim,
            "distance": shape.distance,
        }
        self.report.info["embedder"] = {"name": self.embedder.name, "dim": self.embedder.dim}
        self.report.info["reembed"] = self.reembed
        if shape.distance not in SUPPORTED_DISTANCES and not self.reembed:
            raise InvalidInput(
                f"{shape.describe()} ranks by {shape.distance} distance; Botwright ranks by cosine, so these "
                f"vectors cannot be imported as they are. Re-run with --reembed to embed the passages again "
                f"with {self.embedder.name}."
            )
        plans = self._resolve(self._scan())
        if plans and not self.reembed:
            self._check_space(plans)
        bar = self.bars("points", sum(len(p.group.point_ids) for p in plans))
        try:
            for plan in plans:
                self._import(plan)
                bar.update(len(plan.group.point_ids))
        finally:
            bar.close()
        if not self.dry_run and self.samples:
            self._verify()
        self.report.finish()
        return self.report

    # -- 1. scan ------------------------------------------------------------------------------
    def _scan(self) -> dict[str, _Group]:
        groups: dict[str, _Group] = {}
        loose: list[str] = []
        bot_field = self.mapping.payload.get("bot_id")
        doc_field = self.mapping.payload["document_id"]
        bar = self.bars("scan", self.source.shape().points)
        try:
            for page in self.source.scan(fields=("bot_id", "document_id")):
                for point in page:
                    self.points.read += 1
                    document_id = payload_value(point.payload, doc_field)
                    if document_id in (None, ""):
                        loose.append(point.id)
                        continue
                    group = groups.setdefault(str(document_id), _Group(str(document_id)))
                    group.point_ids.append(point.id)
                    bot_id = payload_value(point.payload, bot_field) if bot_field else None
                    bot_id = bot_id if bot_id not in (None, "") else self.mapping.bot_id
                    if bot_id:
                        group.bot_ids.add(str(bot_id))
                bar.update(len(page))
        finally:
            bar.close()
        if loose:
            self.points.add(
                "skipped",
                ", ".join(loose[:5]) + (" …" if len(loose) > 5 else ""),
                f"no payload, or no {doc_field!r} in it: the point cannot be placed in a document",
                count=len(loose),
            )
        return groups

    # -- 2. resolve ---------------------------------------------------------------------------
    def _skip_group(self, group: _Group, reason: str) -> None:
        self.documents.add("skipped", group.source_id, reason)
        self.points.add("skipped", group.source_id, reason, count=len(group.point_ids))

    def _imported_bot(self, source_id: str) -> Bot | None:
        record = self.supabase.get(Kind.BOT, source_id)
        if record is None:
            return None
        return Bot.objects.for_org(record.org_id).filter(pk=record.target_id).first()

    def _imported_document(self, source_id: str) -> tuple[bool, Document | None]:
        """(was imported, the document if it still exists): from Supabase, else made from passages."""
        for index, key in ((self.supabase, source_id), (self.records, f"{self.collection}/{source_id}")):
            record = index.get(Kind.DOCUMENT, key)
            if record is not None:
                document = (
                    Document.objects.for_org(record.org_id)
                    .filter(pk=record.target_id)
                    .select_related("bot")
                    .first()
                )
                return True, document
        return False, None

    def _resolve(self, groups: dict[str, _Group]) -> list[_Plan]:
        plans: list[_Plan] = []
        owner_of_target: dict[Any, str] = {}
        for source_id in sorted(groups):
            group = groups[source_id]
            self.documents.read += 1
            if len(group.bot_ids) > 1:
                self._skip_group(group, f"its points name several bots ({', '.join(sorted(group.bot_ids))})")
                continue
            bot_source_id = next(iter(group.bot_ids), None)
            bot = self._imported_bot(bot_source_id) if bot_source_id else None
            imported, document = self._imported_document(source_id)
            if imported and document is None:
                self._skip_group(
                    group, "the document was imported before and has since been deleted in Botwright"
                )
                continue
            if document is not None:
                if bot_source_id and (bot is None or bot.pk != document.bot_id):
                    where = f"bot {bot.pk} of org {bot.org_id}" if bot else "no imported bot"
                    self._skip_group(
                        group,
                        f"its points name bot {bot_source_id} ({where}) but the document belongs to bot "
                        f"{document.bot_id} of org {document.org_id}: refused, a passage never changes bot",
                    )
                    continue
                if document.pk in owner_of_target:
                    self._skip_group(
                        group,
                        f"same file as source document {owner_of_target[document.pk]} (deduplicated into "
                        f"Botwright document {document.pk}); that document's points are imported",
                    )
                    continue
                owner_of_target[document.pk] = source_id
                plans.append(_Plan(group, document.bot, document))
                continue
            if bot is None:
                why = (
                    f"its bot {bot_source_id} was not imported from Supabase (run import_supabase first)"
                    if bot_source_id
                    else "no bot_id in its payload (a one-bot collection: set qdrant.bot_id in the mapping)"
                )
                self._skip_group(group, f"document not imported from Supabase and {why}")
                continue
            plans.append(_Plan(group, bot, None))
        return plans

    # -- 3. same vector space -----------------------------------------------------------------
    def _check_space(self, plans: list[_Plan]) -> None:
        shape = self.source.shape()
        label = f"Qdrant {shape.describe()}"
        if shape.dim != self.embedder.dim:
            self.report.check(
                "same_vector_space",
                passed=False,
                source_dim=shape.dim,
                embedder=self.embedder.name,
                embedder_dim=self.embedder.dim,
            )
            raise InvalidInput(
                f"{label} holds {shape.dim}-dimensional vectors; {self.embedder.name} makes "
                f"{self.embedder.dim}-dimensional ones. Re-run with --reembed to embed the passages again "
                f"with {self.embedder.name}."
            )
        ids = [pid for plan in plans for pid in plan.group.point_ids]
        sample = self.rng.sample(ids, min(self.space_sample, len(ids)))
        pairs = [
            (t, p.vector) for p in self.source.fetch(sample) if (t := self._text(p)) and p.vector is not None
        ]
        if not pairs:
            raise InvalidInput(f"{label}: none of the sampled points has text and a vector to compare.")
        texts = [t for t, _ in pairs]
        result = check_same_space(
            source=np.stack([v for _, v in pairs]),
            embedded=self.embedder.embed(texts),
            source_label=label,
            embedder_label=self.embedder.name,
        )
        self.report.check(
            "same_vector_space",
            passed=result.passed,
            sampled=result.sampled,
            median_cosine=result.median_cosine,
            min_cosine=result.min_cosine,
            embedder=self.embedder.name,
        )
        if not result.passed:
            raise InvalidInput(
                f"{result.reason[0].upper()}{result.reason[1:]} Re-run with --reembed to embed the passages "
                f"again with {self.embedder.name} (the source vectors are then not used)."
            )

    # -- 4. import ----------------------------------------------------------------------------
    def _text(self, point: Point) -> str:
        text = payload_value(point.payload, self.mapping.payload["text"])
        return text.strip() if isinstance(text, str) else ""

    def _passages(self, plan: _Plan) -> tuple[list[_Passage], str]:
        fetched = self.source.fetch(plan.group.point_ids)
        problems: Counter[str] = Counter()
        passages: list[_Passage] = []
        filename = ""
        missing = len(plan.group.point_ids) - len(fetched)
        if missing:
            problems["deleted from the collection during the import"] += missing
        for point in fetched:
            text = self._text(point)
            if not text:
                problems[f"no text in payload field {self.mapping.payload['text']!r}"] += 1
                continue
            vector = point.vector
            if not self.reembed:
                if vector is None:
                    problems["no vector"] += 1
                    continue
                if not np.isfinite(vector).all() or not np.any(vector):
                    problems["a zero or non-finite vector"] += 1
                    continue
            filename = filename or str(
                payload_value(point.payload, self.mapping.payload.get("filename")) or ""
            )
            passages.append(
                _Passage(
                    point_id=point.id,
                    text=text,
                    index=_int_or_none(payload_value(point.payload, self.mapping.payload.get("chunk_index"))),
                    page=_int_or_none(payload_value(point.payload, self.mapping.payload.get("page"))),
                    vector=None if self.reembed else vector,
                )
            )
        for reason, count in problems.items():
            self.points.add("skipped", plan.group.source_id, reason, count=count)
        # The source's chunk order when it kept one; point ids break ties so reruns agree.
        passages.sort(key=lambda p: (p.index is None, p.index or 0, p.point_id))
        return passages, filename

    def _digest(self, passages: list[_Passage]) -> str:
        return checksum(
            [
                self.embedder.name,
                self.reembed,
                [
                    [
                        p.point_id,
                        p.text,
                        p.index,
                        p.page,
                        hashlib.sha256(p.vector.tobytes()).hexdigest() if p.vector is not None else None,
                    ]
                    for p in passages
                ],
            ]
        )

    def _vectors(self, passages: list[_Passage]) -> np.ndarray:
        if not self.reembed:
            return unit_rows(np.stack([p.vector for p in passages]))
        parts = [
            self.embedder.embed([p.text for p in passages[i : i + EMBED_BATCH]])
            for i in range(0, len(passages), EMBED_BATCH)
        ]
        return np.concatenate(parts).astype(np.float32, copy=False)

    def _import(self, plan: _Plan) -> None:
        group = plan.group
        try:
            passages, filename = self._passages(plan)
        except ApplicationError:
            raise
        except Exception as exc:
            logger.exception("reading points from Qdrant failed", extra={"document": group.source_id})
            self.documents.add(
                "failed", group.source_id, f"reading its points failed: {type(exc).__name__}: {exc}"
            )
            self.points.add("failed", group.source_id, "its document failed", count=len(group.point_ids))
            return
        if not passages:
            self.documents.add("skipped", group.source_id, "none of its points has both text and a vector")
            return
        key = f"{self.collection}/{group.source_id}"
        digest = self._digest(passages)
        record = self.records.get(Kind.VECTORS, key)
        document = plan.document
        if (
            document is not None
            and record is not None
            and record.checksum == digest
            and record.target_id == str(document.pk)
            and document.active_generation is not None
            and record.detail.get("generation") == document.active_generation
            and document.embedding_model == self.embedder.name
        ):
            self.documents.add("unchanged", group.source_id)
            self.points.add("unchanged", count=len(passages))
            self._keep_samples(document, passages, None)
            return
        outcome = "updated" if record is not None else "created"
        document_outcome = "created" if document is None else "updated"
        if self.dry_run:
            self.documents.add(document_outcome, group.source_id)
            self.points.add(outcome, count=len(passages))
            return
        try:
            vectors = self._vectors(passages)
            if document is None:
                document = self._document_from_passages(plan, passages, filename)
            document = document_generation_write(
                document=document,
                passages=[
                    ImportedPassage(text=p.text, vector=v, page_start=p.page, page_end=p.page)
                    for p, v in zip(passages, vectors, strict=True)
                ],
                embedding_model=self.embedder.name,
                store=self.store,
                on_activate=lambda d: self.records.put(
                    kind=Kind.VECTORS,
                    source_id=key,
                    org_id=d.org_id,
                    target_id=d.pk,
                    checksum=digest,
                    detail={
                        "generation": d.active_generation,
                        "points": len(passages),
                        "reembedded": self.reembed,
                        "embedding_model": self.embedder.name,
                    },
                ),
            )
        except GenerationSuperseded as exc:
            self._fail(group, str(exc) + "; run the import again", len(passages))
            return
        except ApplicationError as exc:
            self._fail(group, exc.message, len(passages))
            return
        except Exception as exc:  # a store or database error on one document: report it, go on
            logger.exception("importing a document's vectors failed", extra={"document": group.source_id})
            self._fail(group, f"{type(exc).__name__}: {str(exc)[:300]}", len(passages))
            return
        self.documents.add(document_outcome, group.source_id)
        self.points.add(outcome, count=len(passages))
        self._keep_samples(document, passages, vectors)

    def _fail(self, group: _Group, reason: str, count: int) -> None:
        self.records.refresh(Kind.VECTORS, f"{self.collection}/{group.source_id}")
        self.documents.add("failed", group.source_id, reason)
        self.points.add("failed", group.source_id, reason, count=count)

    def _document_from_passages(self, plan: _Plan, passages: list[_Passage], filename: str) -> Document:
        """A document that exists only in Qdrant: its passages, joined, become its stored text file."""
        stem = (
            filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] if filename else ""
        ) or f"document-{plan.group.source_id}"
        data = "\n\n".join(p.text for p in passages).encode("utf-8")
        try:
            document, _ = document_upload(
                bot=plan.bot, user=None, data=data, filename=f"{stem}.txt", title=stem, enqueue=False
            )
        except APIException as exc:
            raise InvalidInput(f"Botwright refused the passages as a document: {exc.detail}")
        self.records.put(
            kind=Kind.DOCUMENT,
            source_id=f"{self.collection}/{plan.group.source_id}",
            org_id=document.org_id,
            target_id=document.pk,
            checksum="",
            detail={"bot_source_id": next(iter(plan.group.bot_ids), None), "filename": filename},
        )
        return document

    def _keep_samples(self, document: Document, passages: list[_Passage], vectors: np.ndarray | None) -> None:
        """Reservoir sampling over every imported passage: each has the same chance to be verified."""
        for ordinal, passage in enumerate(passages):
            self._seen += 1
            slot = (
                len(self.samples)
                if len(self.samples) < self.verify_sample
                else self.rng.randrange(self._seen)
            )
            if slot >= self.verify_sample:
                continue
            vector = (
                vectors[ordinal]
                if vectors is not None
                else (None if self.reembed else unit_rows(passage.vector[None, :])[0])
            )
            sample = _Sample(
                str(document.org_id), str(document.bot_id), str(document.pk), ordinal, passage.text, vector
            )
            if slot == len(self.samples):
                self.samples.append(sample)
            else:
                self.samples[slot] = sample

    # -- 5. verify ----------------------------------------------------------------------------
    def _verify(self) -> None:
        located = []  # (sample, document, chunk) of the samples still live
        read_back_misses: list[str] = []
        search_misses: list[str] = []
        for sample in self.samples:
            document = (
                Document.objects.for_org(sample.org_id)
                .filter(pk=sample.document_id)
                .select_related("bot")
                .first()
            )
            chunk = (
                Chunk.objects.for_org(sample.org_id)
                .filter(
                    document_id=sample.document_id,
                    generation=getattr(document, "active_generation", None),
                    ordinal=sample.ordinal,
                )
                .first()
            )
            if document is None or chunk is None:
                label = f"{sample.document_id}#{sample.ordinal}"
                read_back_misses.append(f"{label}: not found")
                search_misses.append(label)
            else:
                located.append((sample, document, chunk))
        # Reads back first, then searches: a search loads (and the database store caches) the whole
        # bot once, where interleaving them with one-document reads would reload it every time.
        scores: list[float] = []
        for sample, document, chunk in located:
            vector = sample.vector if sample.vector is not None else self.embedder.embed([sample.text])[0]
            hits = self.store.search(
                org_id=sample.org_id,
                bot_id=sample.bot_id,
                query=np.asarray(vector, dtype=np.float32),
                top_k=3,
                active={sample.document_id: document.active_generation},
            )
            score = next((h.score for h in hits if h.chunk_id == str(chunk.pk)), None)
            if score is None or score < READ_BACK_MIN_COSINE:
                read_back_misses.append(f"{sample.document_id}#{sample.ordinal}: cosine {score}")
            if score is not None:
                scores.append(float(score))
        found = 0
        for sample, document, chunk in sorted(located, key=lambda x: str(x[1].bot_id)):
            top = retrieve(
                bot=document.bot, query=sample.text, top_k=1, embedder=self.embedder, store=self.store
            )
            if top and (top[0].chunk_id == str(chunk.pk) or top[0].text == chunk.text):
                found += 1
            else:
                search_misses.append(f"{sample.document_id}#{sample.ordinal}")
        self.report.check(
            "vectors_read_back",
            passed=not read_back_misses,
            sampled=len(self.samples),
            min_cosine=round(min(scores), 6) if scores else None,
            required=READ_BACK_MIN_COSINE,
            misses=read_back_misses,
        )
        self.report.check(
            "passage_found_by_own_text",
            passed=not search_misses,
            sampled=len(self.samples),
            found_first=found,
            misses=search_misses,
        )


def qdrant_import(*, report: ImportReport | None = None, **options: Any) -> ImportReport:
    """Import a collection's points as passages and vectors; returns the verification report.

    `options` are `QdrantImport`'s: `source`, `mapping`, `embedder`, `store`, and optionally
    `dry_run`, `reembed`, `bars`, `space_sample`, `verify_sample`, `seed`. Raises `InvalidInput`
    (with what to do) when the collection cannot be imported as it is: its vectors are in another
    space, another distance, a missing named vector.
    """
    report = report or ImportReport("import_qdrant", dry_run=options.get("dry_run", False))
    return QdrantImport(report=report, **options).run()
