"""Amount arithmetic and output matching, exact for every value a node can send."""

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.errors import NodeGarbage
from chain.listeners import SeenOutput
from chain.watcher import base_units, outputs_of

MAX_SUPPLY_SATS = 21_000_000 * 100_000_000
satoshis = st.integers(min_value=0, max_value=MAX_SUPPLY_SATS)
scripts = st.binary(min_size=1, max_size=40).map(bytes.hex)


def as_node_text(sats: int) -> str:
    """How a node writes an amount in JSON: a number with up to 8 decimals."""
    return f"{sats // 100_000_000}.{sats % 100_000_000:08d}"


@pytest.mark.parametrize(
    ("text", "sats"),
    [("0.29", 29_000_000), ("0.57", 57_000_000), ("1.15", 115_000_000), ("4.35", 435_000_000),
     ("20999999.99999999", 2_099_999_999_999_999), ("0.00000001", 1), ("50.00", 5_000_000_000)],
)
def test_amounts_that_floats_get_wrong_are_exact(text, sats):
    value = json.loads(f'{{"value": {text}}}', parse_float=Decimal)["value"]

    assert base_units(value) == sats


@given(satoshis)
def test_any_node_amount_converts_to_exactly_its_satoshis(sats):
    value = json.loads(f'{{"value": {as_node_text(sats)}}}', parse_float=Decimal)["value"]

    assert base_units(value) == sats


def test_a_float_amount_is_refused():
    with pytest.raises(NodeGarbage):
        base_units(0.29)


def test_an_amount_below_one_satoshi_is_refused():
    with pytest.raises(NodeGarbage):
        base_units(Decimal("0.000000001"))


@given(st.lists(st.tuples(scripts, satoshis), min_size=1, max_size=30), st.data())
@settings(max_examples=200)
def test_outputs_of_a_transaction_keep_script_index_and_amount(outputs, data):
    tx = {
        "txid": "ab" * 32,
        "vout": [{"n": n, "value": Decimal(as_node_text(sats)), "scriptPubKey": {"hex": script.upper()}}
                 for n, (script, sats) in enumerate(outputs)],
    }
    height = data.draw(st.integers(min_value=0, max_value=10**7))

    seen = outputs_of(tx, block_hash="cd" * 32, block_height=height)

    assert seen == [
        SeenOutput(txid="ab" * 32, vout=n, script_pubkey=script.lower(), amount=sats, block_hash="cd" * 32, block_height=height)
        for n, (script, sats) in enumerate(outputs)
    ]
    assert sum(output.amount for output in seen) == sum(sats for _script, sats in outputs)
