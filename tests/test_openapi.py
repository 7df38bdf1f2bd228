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
    # The website widget's routes and fields (issue 13).
    assert "/api/public/bots/{public_id}/avatar/" in schema
    assert "/api/orgs/{org_id}/bots/{bot_id}/avatar/" in schema
    for name in ("embed_snippet", "theme_color", "suggested_questions", "show_sources", "message_max_chars"):
        assert f'"{name}"' in schema, name
