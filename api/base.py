"""The base of every API endpoint (it knows no room: the scoped views are in ``api.views``)."""

from __future__ import annotations

from typing import Any

from rest_framework import views as drf_views
from rest_framework.serializers import Serializer

from .serializers import StrictQuerySerializer


class APIView(drf_views.APIView):
    """Base of every API endpoint: one rule for query parameters.

    ``query_serializer`` (a ``StrictQuerySerializer``) names the GET query parameters a view takes;
    anything else is a 400 like an unknown body field, and a view without one takes none (other
    methods take none either). The result is ``self.query``; the schema documents the serializer
    (api.schema.AutoSchema).
    """

    query_serializer: type[Serializer] | None = None
    query: dict[str, Any]
    # Whether the route refuses some authenticated callers with 403 (the schema documents it).
    may_forbid = False

    def initial(self, request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles
        self.resolve_scope(request, **kwargs)
        self.query = self.validated_query(request)

    def resolve_scope(self, request, **kwargs: Any) -> None:
        """Subclasses resolve the objects the URL names (and refuse callers) here, before the query."""

    def validated_query(self, request) -> dict[str, Any]:
        if request.method == "OPTIONS":  # CORS preflights carry the URL of the request to come
            return {}
        serializer_class = self.query_serializer if request.method in ("GET", "HEAD") else None
        serializer = (serializer_class or StrictQuerySerializer)(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)
