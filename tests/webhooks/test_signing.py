"""Merchants verify callbacks with any Standard Webhooks library; here the `standardwebhooks` package from PyPI."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.webhooks.conftest import emit
from webhooks.models import WebhookSecret
from webhooks.services import delivery_attempt, secret_current, secret_rotate
from webhooks.signing import secret_generate, signature, signed_headers

WEBHOOK_ID = "6b0e0c4e-5a6f-4c07-9a55-2f4c4d0d3c11"
BODY = f'{{"id":"{WEBHOOK_ID}","event":"invoice_ready_to_ship","payload":{{"status":"ready_to_ship"}}}}'


def headers_at(secret: str, timestamp: int, body: str = BODY) -> dict[str, str]:
    return signed_headers(secrets=[secret], webhook_id=WEBHOOK_ID, timestamp=timestamp, body=body)


def test_a_signature_verifies():
    secret = secret_generate()

    assert Webhook(secret).verify(BODY, headers_at(secret, int(time.time())))["event"] == "invoice_ready_to_ship"


def test_a_tampered_body_is_rejected():
    secret = secret_generate()
    headers = headers_at(secret, int(time.time()))

    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(BODY.replace("ready_to_ship", "paid"), headers)


def test_another_secret_is_rejected():
    headers = headers_at(secret_generate(), int(time.time()))

    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret_generate()).verify(BODY, headers)


def test_a_signature_six_minutes_old_is_rejected():
    secret = secret_generate()

    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers_at(secret, int(time.time()) - 6 * 60))


def test_a_secret_is_whsec_and_32_random_bytes():
    secret = secret_generate()

    assert secret.startswith("whsec_") and len(Webhook(secret)._whsecret) == 32
    assert secret != secret_generate()


def test_the_current_secret_is_made_once(alice, bob):
    first = secret_current(merchant=alice.merchant)

    assert secret_current(merchant=alice.merchant) == first
    assert secret_current(merchant=bob.merchant) != first
    assert WebhookSecret.objects.filter(merchant=alice.merchant).count() == 1


def test_during_a_rotation_both_secrets_sign_each_delivery(alice, receiver):
    old = secret_current(merchant=alice.merchant)
    new = secret_rotate(merchant=alice.merchant)
    delivery = emit(alice.merchant, receiver.url())

    delivery_attempt(delivery_id=delivery.pk)

    [request] = receiver.received()
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(request.body, request.headers)["event"] == "invoice_created"
    assert secret_current(merchant=alice.merchant) == new


def test_after_the_overlap_only_the_new_secret_signs(alice, receiver, settings):
    secret_current(merchant=alice.merchant)
    new = secret_rotate(merchant=alice.merchant)
    delivery = emit(alice.merchant, receiver.url())
    overlap_over = timezone.now() + timedelta(seconds=settings.WEBHOOKS_SECRET_OVERLAP_SECONDS + 1)

    delivery_attempt(delivery_id=delivery.pk, now=overlap_over)

    [request] = receiver.received()
    assert request.headers["webhook-signature"] == signature(
        secret=new,
        webhook_id=request.headers["webhook-id"],
        timestamp=int(request.headers["webhook-timestamp"]),
        body=request.body.decode(),
    )


def test_a_merchant_without_a_secret_gets_one_at_its_first_delivery(alice, receiver):
    delivery = emit(alice.merchant, receiver.url())

    delivery_attempt(delivery_id=delivery.pk)

    [request] = receiver.received()
    assert Webhook(secret_current(merchant=alice.merchant)).verify(request.body, request.headers)
