"""API building blocks: the org-scoped base view, strict serializers, pagination, error format."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .models import Membership, Organization, Role, role_at_least
from .selectors import membership_for


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def paginate(view: APIView, queryset: Any, serializer_class: type[serializers.Serializer], **context: Any):
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    data = serializer_class(page, many=True, context={"request": view.request, **context}).data
    return paginator.get_paginated_response(data)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus model validation errors as 400 with field messages."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    return drf_exception_handler(exc, context)


class StrictSerializer(serializers.Serializer):
    """Rejects unknown fields with 400 instead of silently ignoring them (typos must not pass)."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data.keys()) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class OrgScopedAPIView(APIView):
    """Base for every `/api/orgs/<org_id>/...` endpoint.

    Resolves the org once from the URL plus the caller's membership (404 for non-members, so a
    stranger cannot even learn the org exists), then checks the role the method needs (403 for a
    member with too small a role). Subclasses fetch objects inside `self.org` only.
    """

    # Minimum role per HTTP method; SAFE methods default to viewer.
    required_roles: dict[str, str] = {
        "GET": Role.VIEWER,
        "HEAD": Role.VIEWER,
        "OPTIONS": Role.VIEWER,
        "POST": Role.EDITOR,
        "PUT": Role.EDITOR,
        "PATCH": Role.EDITOR,
        "DELETE": Role.EDITOR,
    }
    org: Organization
    membership: Membership

    def initial(self, request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication + IsAuthenticated
        self.membership = membership_for(user=request.user, org_id=kwargs["org_id"])
        self.org = self.membership.org
        needed = self.required_roles.get(request.method, Role.OWNER)
        if not role_at_least(self.membership.role, needed):
            raise exceptions.PermissionDenied(
                f"This needs the {needed} role in this organisation; you are {self.membership.role}."
            )
