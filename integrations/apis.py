from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .health import run_checks


class HealthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            (200, "application/json"): inline_serializer(
                "Health", {"status": serializers.CharField(), "checks": serializers.DictField()}
            )
        },
        description="Checks the database, storage and vector store (the embedder too with ?deep=1); "
        "503 if any fails.",
    )
    def get(self, request):
        ok, checks = run_checks(deep=request.query_params.get("deep") in ("1", "true"))
        return Response({"status": "ok" if ok else "error", "checks": checks}, status=200 if ok else 503)
