from __future__ import annotations

import io

from django.core.management import call_command


def test_openapi_schema_is_valid_and_generates_without_warnings(db):
    out = io.StringIO()
    # --fail-on-warn turns any unresolved view, serializer or authenticator into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out)
    schema = out.getvalue()
    assert '"cognitoJWT"' in schema and '"botApiKey"' in schema
    assert "/api/public/bots/{public_id}/chat/" in schema
