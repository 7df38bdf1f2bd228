"""Knowledge-base endpoints under /api/orgs/<org>/bots/<bot>/. Viewers read; editors and above write."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from api.pagination import paginate
from api.schema import error_responses, paginated
from api.serializers import PageQuerySerializer
from api.views import BotScopedAPIView

from . import selectors, services
from .serializers import (
    BotReindexOutputSerializer,
    ChunkOutputSerializer,
    DirectUploadOutputSerializer,
    DirectUploadSerializer,
    DocumentFilterSerializer,
    DocumentOutputSerializer,
    DocumentUploadSerializer,
)


class DocumentListApi(BotScopedAPIView):
    parser_classes = [MultiPartParser]
    query_serializer = DocumentFilterSerializer

    @staticmethod
    def request_body_limit() -> int:
        """The one API route whose body may hold a document (config.middleware.RequestBodyLimitMiddleware
        holds every other route to REQUEST_MAX_BODY_BYTES); 64 KiB more for the multipart framing."""
        return settings.DOCUMENT_MAX_UPLOAD_BYTES + 64 * 1024

    @extend_schema(responses=paginated(DocumentOutputSerializer))
    def get(self, request, org_id, bot_id):
        qs = selectors.document_list(bot=self.bot, status=self.query.get("status"))
        return paginate(self, qs, DocumentOutputSerializer)

    @extend_schema(
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={
            201: DocumentOutputSerializer,
            200: DocumentOutputSerializer,
            **error_responses(402, 409),
        },
        description="Upload a PDF, DOCX, text or Markdown file (type sniffed from content). The same bytes "
        "uploaded to the same bot again return the existing document with 200.",
    )
    def post(self, request, org_id, bot_id):
        upload = request.FILES.get("file")
        if upload is not None and upload.size > settings.DOCUMENT_MAX_UPLOAD_BYTES:
            # Refuse before reading the body into memory.
            limit = settings.DOCUMENT_MAX_UPLOAD_BYTES // (1024 * 1024)
            raise services.UploadTooLarge(f"The file is larger than the {limit} MB limit.")
        data = DocumentUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        document, created = services.document_upload(
            bot=self.bot,
            user=request.user,
            data=upload.read(),
            filename=upload.name or "",
            title=data.validated_data.get("title", ""),
        )
        document.refresh_from_db()
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(DocumentOutputSerializer(document).data, status=code)


class DirectUploadApi(BotScopedAPIView):
    @extend_schema(
        request=DirectUploadSerializer,
        responses={201: DirectUploadOutputSerializer, **error_responses(402)},
        description="Start a direct-to-storage upload: POST the file to `upload.url` with `upload.fields`, "
        "then call the document's `complete/`.",
    )
    def post(self, request, org_id, bot_id):
        data = DirectUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document, post = services.document_upload_start(
            bot=self.bot,
            user=request.user,
            filename=data.validated_data["filename"],
            size=data.validated_data["size"],
            content_type=data.validated_data.get("content_type") or "application/octet-stream",
        )
        body = DirectUploadOutputSerializer({"document": document, "upload": post}).data
        return Response(body, status=status.HTTP_201_CREATED)


class DirectUploadCompleteApi(BotScopedAPIView):
    @extend_schema(
        request=None,
        responses={
            202: DocumentOutputSerializer,
            200: DocumentOutputSerializer,
            **error_responses(402, 415),  # 415: the uploaded bytes are not a supported type
        },
    )
    def post(self, request, org_id, bot_id, document_id):
        document = selectors.document_get(bot=self.bot, document_id=document_id)
        document, is_new = services.document_upload_complete(document=document, user=request.user)
        document.refresh_from_db()
        code = status.HTTP_202_ACCEPTED if is_new else status.HTTP_200_OK
        return Response(DocumentOutputSerializer(document).data, status=code)


class DocumentDetailApi(BotScopedAPIView):
    @extend_schema(responses=DocumentOutputSerializer)
    def get(self, request, org_id, bot_id, document_id):
        document = selectors.document_get(bot=self.bot, document_id=document_id)
        return Response(DocumentOutputSerializer(document).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_id, bot_id, document_id):
        document = selectors.document_get(bot=self.bot, document_id=document_id)
        services.document_delete(document=document, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentChunksApi(BotScopedAPIView):
    query_serializer = PageQuerySerializer

    @extend_schema(responses=paginated(ChunkOutputSerializer))
    def get(self, request, org_id, bot_id, document_id):
        document = selectors.document_get(bot=self.bot, document_id=document_id)
        return paginate(self, selectors.chunk_list(document=document), ChunkOutputSerializer)


class DocumentReindexApi(BotScopedAPIView):
    @extend_schema(request=None, responses={202: DocumentOutputSerializer})
    def post(self, request, org_id, bot_id, document_id):
        document = selectors.document_get(bot=self.bot, document_id=document_id)
        document = services.document_reindex(document=document, user=request.user)
        document.refresh_from_db()
        return Response(DocumentOutputSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class BotReindexApi(BotScopedAPIView):
    @extend_schema(request=None, responses={202: BotReindexOutputSerializer})
    def post(self, request, org_id, bot_id):
        count = services.bot_reindex(bot=self.bot, user=request.user)
        body = BotReindexOutputSerializer({"documents": count}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)
