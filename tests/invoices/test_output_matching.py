"""The watcher's batches are matched to payment options by script, exactly and only while watched."""

import json
from datetime import timedelta

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.listeners import SeenOutput
from invoices.models import Invoice, Payment, PaymentOption
from invoices.payments import outputs_record


def create_invoices(tenant, count: int) -> list[PaymentOption]:
    for n in range(count):
        tenant.client().post(
            f"/api/v1/merchants/{tenant.merchant.id}/invoices",
            data=json.dumps({"price_currency": "BTC", "base_price": f"{n + 1}.00", "base_price_currency": "USD"}),
            content_type="application/json",
        )
    return list(PaymentOption.objects.filter(merchant=tenant.merchant).order_by("id"))


@given(
    picks=st.lists(st.tuples(st.integers(min_value=0, max_value=3), st.integers(min_value=1, max_value=10**9)), max_size=12),
    strangers=st.lists(st.binary(min_size=22, max_size=25).map(bytes.hex), max_size=12),
)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_only_outputs_paying_an_option_are_recorded(alice, rates, picks, strangers):
    Payment.objects.all().delete()
    options = list(PaymentOption.objects.filter(merchant=alice.merchant).order_by("id")) or create_invoices(alice, 4)
    outputs = [SeenOutput(txid=f"{i:064x}", vout=0, script_pubkey=options[pick].script_pubkey, amount=amount)
               for i, (pick, amount) in enumerate(picks)]
    outputs += [SeenOutput(txid=f"{1000 + i:064x}", vout=1, script_pubkey=script, amount=5) for i, script in enumerate(strangers)]

    recorded = outputs_record(currency="BTC", outputs=outputs)

    assert recorded == len(picks)
    for index, option in enumerate(options):
        expected = sum(amount for pick, amount in picks if pick == index)
        assert sum(Payment.objects.filter(payment_option=option).values_list("amount", flat=True)) == expected


def test_the_same_output_reported_twice_is_one_payment(alice, rates):
    option = create_invoices(alice, 1)[0]
    output = SeenOutput(txid="ee" * 32, vout=3, script_pubkey=option.script_pubkey, amount=option.amount_due)

    outputs_record(currency="BTC", outputs=[output])
    outputs_record(currency="BTC", outputs=[output])

    assert Payment.objects.count() == 1
    assert Invoice.objects.get().status == "paid"


def test_an_option_past_its_watch_window_is_not_matched(alice, rates):
    option = create_invoices(alice, 1)[0]
    PaymentOption.objects.filter(pk=option.pk).update(watch_until=timezone.now() - timedelta(seconds=1))

    recorded = outputs_record(currency="BTC", outputs=[SeenOutput(txid="ff" * 32, vout=0, script_pubkey=option.script_pubkey, amount=1)])

    assert recorded == 0
    assert not Payment.objects.exists()


def test_another_coins_output_with_the_same_script_is_not_matched(alice, rates):
    option = create_invoices(alice, 1)[0]

    recorded = outputs_record(currency="LTC", outputs=[SeenOutput(txid="dd" * 32, vout=0, script_pubkey=option.script_pubkey, amount=1)])

    assert recorded == 0


def test_a_vanished_unconfirmed_payment_stops_counting_and_invalidates_the_invoice(alice, rates):
    from invoices.payments import transactions_gone, unconfirmed_txids

    option = create_invoices(alice, 1)[0]
    outputs_record(currency="BTC", outputs=[SeenOutput(txid="ab" * 32, vout=0, script_pubkey=option.script_pubkey, amount=option.amount_due)])
    assert Invoice.objects.get().status == "paid"
    assert unconfirmed_txids(currency="BTC") == ["ab" * 32]

    transactions_gone(currency="BTC", txids=["ab" * 32])

    invoice = Invoice.objects.get()
    assert invoice.status == "invalid"
    assert Payment.objects.get().state == "replaced"
    assert unconfirmed_txids(currency="BTC") == []
    assert list(invoice.events.values_list("to_status", flat=True)) == ["unpaid", "paid", "invalid"]


def test_a_confirmed_payment_is_not_taken_for_vanished(alice, rates):
    from invoices.payments import transactions_gone

    option = create_invoices(alice, 1)[0]
    outputs_record(currency="BTC", outputs=[SeenOutput(txid="ac" * 32, vout=0, script_pubkey=option.script_pubkey,
                                                       amount=option.amount_due, block_hash="bb" * 32, block_height=5)])

    transactions_gone(currency="BTC", txids=["ac" * 32])

    assert Payment.objects.get().state != "replaced"
    assert Invoice.objects.get().status == "paid"
