from __future__ import annotations

import io
import json

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


def test_every_operation_documents_its_errors_and_every_list_its_page(db):
    out = io.StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out)
    schema = json.loads(out.getvalue())
    components = schema["components"]["schemas"]
    assert components["Error"]["properties"]["detail"]["type"] == "string"
    assert {"quota", "used", "limit", "resets_at", "errors"} <= set(components["Error"]["properties"])
    for path, item in schema["paths"].items():
        assert path.endswith("/"), path  # slashless aliases stay out of the schema
        for method, operation in item.items():
            responses = operation["responses"]
            assert "400" in responses, (method, path)  # unknown query parameters, at least
            for code, response in responses.items():
                if code.startswith(("4", "5")) and path != "/api/health/":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/Error"), (method, path, code)
            if "429" in responses:
                assert "Retry-After" in responses["429"]["headers"], (method, path)
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            if method == "get" and "page" in names:
                ref = responses["200"]["content"]["application/json"]["schema"]["$ref"]
                page = components[ref.rsplit("/", 1)[1]]
                assert set(page["required"]) >= {"count", "next", "previous", "results"}, path
                assert "404" in responses, path
