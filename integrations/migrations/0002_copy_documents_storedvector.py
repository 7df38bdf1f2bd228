"""Copy the `database` vector store's rows from documents.StoredVector into integrations.ChunkVector.

The store used to keep vectors in the documents app's table and read texts from its chunks; it now owns
one table holding vector, text and metadata. Existing rows are copied (with the text, page range,
heading path and title the store used to join in at search time), so every indexed document stays
searchable without a re-index. documents' next migration drops the old table after this one ran.
Reversible: going back copies the rows into the old table again.
"""

from django.db import migrations

BATCH = 1000


def copy_forward(apps, schema_editor):
    StoredVector = apps.get_model("documents", "StoredVector")
    ChunkVector = apps.get_model("integrations", "ChunkVector")
    rows = (
        StoredVector.all_orgs.select_related("chunk", "document")
        .order_by("pk")
        .values_list(
            "org_id",
            "bot_id",
            "document_id",
            "generation",
            "ordinal",
            "chunk_id",
            "vector",
            "chunk__text",
            "chunk__page_start",
            "chunk__page_end",
            "chunk__heading_path",
            "document__title",
        )
    )
    batch = []
    for org, bot, doc, generation, ordinal, chunk, vector, text, start, end, headings, title in rows.iterator(
        chunk_size=BATCH
    ):
        batch.append(
            ChunkVector(
                org_id=str(org),
                bot_id=str(bot),
                document_id=str(doc),
                generation=generation,
                ordinal=ordinal,
                chunk_id=str(chunk),
                vector=bytes(vector),
                text=text,
                metadata={
                    "page_start": start,
                    "page_end": end,
                    "heading_path": list(headings or []),
                    "title": title,
                },
            )
        )
        if len(batch) >= BATCH:
            ChunkVector.objects.bulk_create(batch)
            batch = []
    ChunkVector.objects.bulk_create(batch)


def copy_back(apps, schema_editor):
    StoredVector = apps.get_model("documents", "StoredVector")
    ChunkVector = apps.get_model("integrations", "ChunkVector")
    Chunk = apps.get_model("documents", "Chunk")
    batch = []
    for row in ChunkVector.objects.order_by("pk").iterator(chunk_size=BATCH):
        # The old table points at chunk rows; vectors of chunks that no longer exist cannot go back.
        if not Chunk.all_orgs.filter(pk=row.chunk_id).exists():
            continue
        batch.append(
            StoredVector(
                org_id=row.org_id,
                bot_id=row.bot_id,
                document_id=row.document_id,
                chunk_id=row.chunk_id,
                generation=row.generation,
                ordinal=row.ordinal,
                vector=bytes(row.vector),
            )
        )
        if len(batch) >= BATCH:
            StoredVector.all_orgs.bulk_create(batch)
            batch = []
    StoredVector.all_orgs.bulk_create(batch)
    ChunkVector.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_chunk_vector"),
        ("documents", "0002_alter_chunk_org_alter_document_org_and_more"),
    ]

    operations = [migrations.RunPython(copy_forward, copy_back)]
