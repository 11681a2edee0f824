import json
from urllib.parse import parse_qs, urlparse

import pytest
from oauth2_provider.models import AccessToken, Application
from rest_framework.test import APIClient

REDIRECT = "https://plugin.example.com/oauth/callback"


@pytest.fixture
def application(alice):
    return Application.objects.create(
        name="Shop plugin",
        user=alice.user,
        client_id="plugin-client",
        client_secret="plugin-secret",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT,
        hash_client_secret=False,
    )


def authorize(client, alice, scope="user_read invoice_read_write", path="/api/v1/oauth/authorize"):
    """The merchant signs in, sees the consent page and allows the plugin; returns the code from the redirect."""
    alice.user.set_password("correct horse")
    alice.user.save()
    assert client.login(username=alice.user.username, password="correct horse")
    params = {"response_type": "code", "client_id": "plugin-client", "redirect_uri": REDIRECT, "scope": scope, "state": "xyz"}
    page = client.get(path, params)
    assert page.status_code == 200
    assert "Shop plugin" in page.content.decode()
    assert "Create and read invoices" in page.content.decode()
    response = client.post(path, {**params, "allow": "Authorize"})
    assert response.status_code == 302
    redirect = urlparse(response["Location"])
    assert f"{redirect.scheme}://{redirect.netloc}{redirect.path}" == REDIRECT
    query = parse_qs(redirect.query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


def exchange(code, *, as_json=True, client_secret="plugin-secret"):
    body = {"grant_type": "authorization_code", "client_id": "plugin-client", "client_secret": client_secret,
            "code": code, "redirect_uri": REDIRECT}
    api = APIClient()
    if as_json:
        return api.post("/api/v1/oauth/token", data=json.dumps(body), content_type="application/json")
    return api.post("/api/v1/oauth/token", data=body)


def test_authorization_code_flow_with_a_json_token_request(client, alice, application):
    code = authorize(client, alice)

    response = exchange(code)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "scope"}
    assert body["token_type"] == "bearer"
    assert body["scope"] == "user_read invoice_read_write"
    me = APIClient().get("/api/v1/user", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.json()["merchant_id"] == str(alice.merchant.id)


def test_the_token_request_may_be_a_form(client, alice, application):
    code = authorize(client, alice)

    response = exchange(code, as_json=False)

    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"


def test_the_dashboard_path_auth_serves_the_same_consent(client, alice, application):
    code = authorize(client, alice, path="/auth")

    assert exchange(code).status_code == 200


def test_a_bad_code_is_401_invalid_grant(alice, application):
    response = exchange("not-a-code")

    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_grant"
    assert body["error_description"].startswith("The provided authorization grant is invalid")


def test_a_code_works_only_once(client, alice, application):
    code = authorize(client, alice)
    assert exchange(code).status_code == 200

    assert exchange(code).status_code == 401


def test_a_wrong_client_secret_is_401(client, alice, application):
    code = authorize(client, alice)

    response = exchange(code, client_secret="wrong")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_without_a_scope_the_token_gets_only_user_read(client, alice, application):
    alice.user.set_password("pw-123456")
    alice.user.save()
    client.login(username=alice.user.username, password="pw-123456")
    params = {"response_type": "code", "client_id": "plugin-client", "redirect_uri": REDIRECT}
    page = client.get("/api/v1/oauth/authorize", params)
    offered_scope = page.context["form"]["scope"].value()
    response = client.post("/api/v1/oauth/authorize", {**params, "allow": "Authorize", "scope": offered_scope})
    code = parse_qs(urlparse(response["Location"]).query)["code"][0]

    assert offered_scope == "user_read"
    assert exchange(code).json()["scope"] == "user_read"


def test_an_unknown_scope_is_refused_at_the_consent_page(client, alice, application):
    alice.user.set_password("pw-123456")
    alice.user.save()
    client.login(username=alice.user.username, password="pw-123456")

    response = client.get("/api/v1/oauth/authorize", {"response_type": "code", "client_id": "plugin-client",
                                                      "redirect_uri": REDIRECT, "scope": "everything"})

    assert response.status_code == 302
    assert "error=invalid_scope" in response["Location"]


def test_a_new_token_invalidates_the_users_earlier_one_for_that_application(client, alice, application):
    first = exchange(authorize(client, alice)).json()["access_token"]
    second = exchange(authorize(client, alice)).json()["access_token"]

    assert APIClient().get("/api/v1/user", HTTP_AUTHORIZATION=f"Bearer {first}").status_code == 401
    assert APIClient().get("/api/v1/user", HTTP_AUTHORIZATION=f"Bearer {second}").status_code == 200
    assert AccessToken.objects.filter(application=application).count() == 1


def test_the_consent_page_asks_an_anonymous_visitor_to_sign_in(client, application):
    response = client.get("/api/v1/oauth/authorize", {"response_type": "code", "client_id": "plugin-client", "redirect_uri": REDIRECT})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
