import base64

import pytest
from rest_framework.test import APIClient

from merchants.models import Membership, Role, User
from merchants.services import api_key_create
from tests.factories import FULL_SCOPE


def basic_client(token: str, password: str = "") -> APIClient:
    """A client authenticating as Anypay's clients do: the token as Basic user name, an empty password."""
    api = APIClient()
    credentials = base64.b64encode(f"{token}:{password}".encode()).decode()
    api.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")
    return api


@pytest.fixture
def alice_anypay(alice) -> APIClient:
    return basic_client(alice.token)


@pytest.fixture
def bob_anypay(bob) -> APIClient:
    return basic_client(bob.token)


@pytest.fixture
def alice_viewer(alice) -> APIClient:
    """A member of Alice's shop who may only look, with a full-scope token."""
    user = User.objects.create_user(username="viewer@example.com", email="viewer@example.com")
    Membership.objects.create(user=user, merchant=alice.merchant, role=Role.VIEWER)
    return basic_client(api_key_create(merchant=alice.merchant, user=user, scope=FULL_SCOPE)[1])


def create(client: APIClient, **fields):
    return client.post("/anypay/invoices", fields, format="json")
