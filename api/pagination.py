"""Page-number pagination for every list endpoint: ``{count, next, previous, results}``."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import APIView


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def paginate(view: APIView, queryset: Any, serializer_class: type[serializers.Serializer], **context: Any):
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    data = serializer_class(page, many=True, context={"request": view.request, **context}).data
    return paginator.get_paginated_response(data)
