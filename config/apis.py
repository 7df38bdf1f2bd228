"""Endpoints of the platform itself (not of a room): health. It lives in config because it reads
every backend (integrations) and answers in the API's rules (api)."""

import contextlib

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from api.base import APIView
from api.schema import error_responses
from api.serializers import StrictQuerySerializer
from integrations.health import run_checks


class HealthQuerySerializer(StrictQuerySerializer):
    deep = serializers.ChoiceField(
        choices=["0", "1", "true", "false"],
        required=False,
        help_text="`1`: also embed a sentence (staff only).",
    )


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded"])
    checks = serializers.DictField(required=False, help_text="Each check's result; staff only.")


class HealthApi(APIView):
    """Public liveness for load balancers and monitors; the details are for staff only.

    Anyone gets ``{"status": "ok" | "degraded"}`` (200 / 503). Failure details name hosts, ports and
    backends, so only a signed-in staff user sees them (``checks``), and only staff can ask for
    ``?deep=1``, which runs an embedding (CPU an anonymous caller must not be able to spend).
    """

    permission_classes = [AllowAny]
    query_serializer = HealthQuerySerializer

    def perform_authentication(self, request):
        # A bad credential only costs the details: health still answers, anonymously.
        with contextlib.suppress(exceptions.APIException):
            request.user  # noqa: B018  (authenticates)

    @extend_schema(
        responses={200: HealthSerializer, 503: HealthSerializer, **error_responses(400)},
        description="Checks the database, storage and vector store; 503 with status `degraded` if any "
        "fails. Staff users also get each check's result and can add ?deep=1 (the embedder).",
    )
    def get(self, request):
        staff = bool(getattr(request.user, "is_staff", False) and request.user.is_active)
        deep = staff and self.query.get("deep") in ("1", "true")
        ok, checks = run_checks(deep=deep)
        body = {"status": "ok" if ok else "degraded"}
        if staff:
            body["checks"] = checks
        return Response(HealthSerializer(body).data, status=200 if ok else 503)
