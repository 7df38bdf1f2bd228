from collections.abc import Mapping

from rest_framework import serializers

from api.serializers import PageQuerySerializer, StrictSerializer

from .models import DocumentStatus


class DocumentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    bot_id = serializers.UUIDField()
    title = serializers.CharField()
    filename = serializers.CharField()
    kind = serializers.CharField()
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.FloatField()
    chunks_total = serializers.IntegerField()
    chunks_embedded = serializers.IntegerField()
    chunk_count = serializers.IntegerField()
    page_count = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    embedding_model = serializers.CharField()
    upload_method = serializers.CharField()
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    processing_started_at = serializers.DateTimeField(allow_null=True)
    processed_at = serializers.DateTimeField(allow_null=True)


class DocumentUploadSerializer(StrictSerializer):
    file = serializers.FileField(allow_empty_file=True)
    title = serializers.CharField(required=False, allow_blank=True, max_length=300)


class DirectUploadSerializer(StrictSerializer):
    filename = serializers.CharField(max_length=255)
    size = serializers.IntegerField(min_value=0)
    content_type = serializers.CharField(max_length=200, required=False, allow_blank=True)


class DirectUploadPostSerializer(serializers.Serializer):
    """A presigned S3 POST: send the file as the last field of a multipart form to ``url``."""

    url = serializers.URLField()
    fields = serializers.DictField(child=serializers.CharField(), help_text="Form fields to send first.")


class DirectUploadOutputSerializer(serializers.Serializer):
    document = DocumentOutputSerializer()
    upload = DirectUploadPostSerializer()


class BotReindexOutputSerializer(serializers.Serializer):
    documents = serializers.IntegerField(help_text="Documents queued for reindexing.")


class DocumentFilterSerializer(PageQuerySerializer):
    status = serializers.ChoiceField(choices=DocumentStatus.choices, required=False)


class ChunkOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ordinal = serializers.IntegerField()
    text = serializers.CharField()
    page_start = serializers.IntegerField(allow_null=True)
    page_end = serializers.IntegerField(allow_null=True)
    heading_path = serializers.ListField(child=serializers.CharField())
    char_start = serializers.IntegerField()
    char_end = serializers.IntegerField()


class PassageSerializer(serializers.Serializer):
    """A retrieved passage (``integrations.llm.base.Passage``) as search results show it.

    ``context_before``/``context_after`` are the neighbouring text of the same document that the
    answerer also reads; ``text`` alone is the chunk that matched. ``score`` ranks the results,
    ``similarity`` is the cosine similarity when the dense search found the chunk (else null).
    """

    chunk_id = serializers.CharField()
    document_id = serializers.CharField()
    title = serializers.CharField()
    pages = serializers.CharField()
    page_start = serializers.IntegerField(allow_null=True)
    page_end = serializers.IntegerField(allow_null=True)
    heading_path = serializers.ListField(child=serializers.CharField())
    text = serializers.CharField()
    context_before = serializers.CharField()
    context_after = serializers.CharField()
    score = serializers.FloatField()
    similarity = serializers.FloatField(allow_null=True)


SNIPPET_CHARS = 300


class SourceSerializer(PassageSerializer):
    """The same passage as an answer's source (stored on the message): the chunk's text shortened to
    a ``snippet``, without the context and layout detail search shows."""

    page_start = page_end = heading_path = text = context_before = context_after = similarity = None
    snippet = serializers.SerializerMethodField()
    # Answers recorded before chunk ids were kept have none.
    chunk_id = serializers.CharField(default="")

    def get_snippet(self, passage) -> str:
        if isinstance(passage, Mapping):  # a source already stored on a message
            return str(passage.get("snippet", ""))
        text = passage.text.strip()
        return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS].rstrip() + "…"
