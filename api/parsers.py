"""The JSON parser every endpoint uses (REST_FRAMEWORK's default).

DRF's own parser turns ``ValueError`` into a 400 but lets ``RecursionError`` through: a body of
100 000 ``[`` was an anonymous 500. Any body the JSON decoder cannot turn into data is a 400 here,
with a message that says what to send instead. Body size is bounded before parsing by
``config.middleware.RequestBodyLimitMiddleware``.
"""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply; send flatter JSON.")
