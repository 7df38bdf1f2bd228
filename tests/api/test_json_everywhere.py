"""Everything under /api/ answers JSON in the one error shape: unknown routes, wrong methods, a missing
trailing slash, uncaught exceptions, validation errors and unknown query parameters."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from rest_framework import exceptions

from api.exception_handlers import exception_handler
from api.http import handler500
from tenants.models import Organization
from tests.contract import operations


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_an_unknown_api_path_is_a_json_404(client, method):
    body = _error(getattr(client, method)("/api/no-such-thing/"), 404)
    assert "/api/no-such-thing/" in body["detail"] and body["code"] == "not_found"


def test_outside_the_api_a_404_stays_an_html_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_wrong_method_is_a_json_405(owner, client_for):
    body = _error(client_for(owner).put("/api/orgs/", {}, format="json"), 405)
    assert "PUT" in body["detail"]


@pytest.mark.parametrize("debug", [False, True])
def test_a_post_without_the_trailing_slash_is_redirected_with_its_body(owner, client_for, settings, debug):
    # With DEBUG, Django's APPEND_SLASH used to answer this with an HTML 500 (it cannot redirect a POST).
    settings.DEBUG = debug
    client = client_for(owner)
    response = client.post("/api/orgs?page=1", {"name": "Slashless"}, format="json")
    body = _error(response, 308)
    assert response["Location"] == "/api/orgs/?page=1"
    assert "/api/orgs/" in body["detail"]
    assert not Organization.objects.filter(name="Slashless").exists()

    followed = client.post("/api/orgs", {"name": "Slashless"}, format="json", follow=True)
    assert followed.status_code == 201, followed.content
    assert followed.json()["name"] == "Slashless"
    assert Organization.objects.filter(name="Slashless").count() == 1


def test_behind_a_stage_prefix_the_redirect_keeps_the_prefix(owner, client_for):
    # On Lambda, API Gateway serves the app under its stage (SCRIPT_NAME=/production).
    response = client_for(owner).post(
        "/api/orgs", {"name": "Staged"}, format="json", SCRIPT_NAME="/production"
    )
    _error(response, 308)
    assert response["Location"] == "/production/api/orgs/"


def test_a_path_that_is_not_a_route_even_with_a_slash_is_a_404_not_a_redirect(client):
    _error(client.post("/api/orgs/not-a-uuid", {}, content_type="application/json"), 404)


def test_the_old_slashless_paths_answer_like_the_new_ones(owner, client_for):
    client = client_for(owner)
    for old in ("/api/health", "/api/auth/me", "/api/auth/config"):
        old_response, new_response = client.get(old), client.get(old + "/")
        assert old_response.status_code == new_response.status_code == 200, old
        assert old_response.json().keys() == new_response.json().keys()
    documented = {path for path, _ in operations()}
    assert {"/api/health/", "/api/auth/me/", "/api/auth/config/", "/api/auth/identity/link/"} <= documented
    assert not {path for path in documented if not path.endswith("/")}


def test_an_uncaught_exception_under_the_api_is_a_json_500(owner, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database exploded: host db-7.internal")

    monkeypatch.setattr("tenants.selectors.org_list_for_user", broken)
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    body = _error(client.get("/api/orgs/"), 500)
    assert body["code"] == "server_error"
    assert "db-7.internal" not in body["detail"]  # operator detail stays in the log


def test_outside_the_api_a_500_stays_an_html_page():
    response = handler500(RequestFactory().get("/admin/"))
    assert response.status_code == 500
    assert not response["Content-Type"].startswith("application/json")


def test_validation_errors_have_one_string_detail_and_errors_by_field(owner, org, client_for):
    client = client_for(owner)
    body = _error(client.post("/api/orgs/", {"name": "X", "colour": "red"}, format="json"), 400)
    assert body == {
        "detail": "colour: Unknown field.",
        "code": "invalid",
        "errors": {"colour": ["Unknown field."]},
    }
    invite = {"email": "not-an-email", "role": "god"}
    body = _error(client.post(f"/api/orgs/{org.pk}/members/", invite, format="json"), 400)
    assert set(body["errors"]) == {"email", "role"}
    assert body["detail"].startswith("email: ") and "(and 1 more: see `errors`)" in body["detail"]


def test_unknown_query_parameters_are_a_400_like_unknown_body_fields(owner, org, client_for):
    client = client_for(owner)
    body = _error(client.get("/api/orgs/?pgae=2"), 400)
    assert body["errors"] == {"pgae": ["Unknown query parameter."]}
    _error(client.get(f"/api/orgs/{org.pk}/?expand=members"), 400)  # a detail route takes none
    _error(client.post("/api/orgs/?dry_run=1", {"name": "X"}, format="json"), 400)  # nor does a POST
    assert not Organization.objects.filter(name="X").exists()
    assert client.get("/api/orgs/?page=1&page_size=5").status_code == 200  # pagination is allowed
    assert _error(client.get("/api/orgs/?page_size=0"), 400)["errors"]["page_size"]
    _error(client.get("/api/orgs/?page=99"), 404)  # past the last page (documented on every list)


def test_every_error_detail_is_a_string_even_when_raised_as_a_list():
    request = RequestFactory().get("/api/x/")
    context = {"request": request, "view": None}
    denied = exception_handler(exceptions.PermissionDenied(["Not yours.", "Ask an admin."]), context)
    assert denied.data == {"detail": "Not yours. Ask an admin.", "code": "permission_denied"}
    invalid = exception_handler(exceptions.ValidationError(["The body is empty."]), context)
    assert invalid.data == {
        "detail": "The body is empty.",
        "code": "invalid",
        "errors": {"non_field_errors": ["The body is empty."]},
    }
    nested = exception_handler(exceptions.ValidationError({"document_ids": {0: ["Not a UUID."]}}), context)
    assert nested.data["errors"] == {"document_ids": ["0: Not a UUID."]}
    assert nested.data["detail"] == "document_ids: 0: Not a UUID."
