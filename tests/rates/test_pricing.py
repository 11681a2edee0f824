from decimal import Decimal
from fractions import Fraction

import pytest

from rates.selectors import price_in_base_units
from tests.rates.helpers import exact_18


def test_price_is_rounded_up_to_the_next_base_unit():
    # 134 * 10^8 / 65000 = 206153.846...
    assert price_in_base_units(amount=Decimal("134.00"), rate=Decimal("65000"), decimals=8) == 206154


def test_a_price_that_is_a_whole_number_of_base_units_stays():
    assert price_in_base_units(amount=Decimal("130.00"), rate=Decimal("65000"), decimals=8) == 200000
    assert price_in_base_units(amount=Decimal("0.00065"), rate=Decimal("65000"), decimals=8) == 1


def test_any_fraction_of_a_base_unit_goes_up_by_one():
    assert price_in_base_units(amount=Decimal("130.000000000001"), rate=Decimal("65000"), decimals=8) == 200001
    assert price_in_base_units(amount=Decimal("0.00065001"), rate=Decimal("65000"), decimals=8) == 2


def test_large_amounts_are_exact():
    amount = Decimal("123456789.12")

    units = price_in_base_units(amount=amount, rate=Decimal("65000"), decimals=8)

    numerator, denominator = 12345678912 * 10**8, 100 * 65000
    assert units == -(-numerator // denominator) == 189933521724


def test_large_amounts_at_a_crossed_rate_are_exact():
    rate = exact_18(Fraction(65000) / Fraction("1.08"))  # 60185.185185185185185185
    amount = Decimal("123456789.12")

    units = price_in_base_units(amount=amount, rate=rate, decimals=8)

    rate_scaled = int(rate.scaleb(18))
    numerator, denominator = 12345678912 * 10**8 * 10**18, 100 * rate_scaled
    assert units == -(-numerator // denominator)


def test_zero_decimals_and_zero_amount():
    assert price_in_base_units(amount=Decimal("0"), rate=Decimal("65000"), decimals=8) == 0
    assert price_in_base_units(amount=Decimal("10"), rate=Decimal("3"), decimals=0) == 4


def test_float_is_refused():
    with pytest.raises(TypeError):
        price_in_base_units(amount=134.0, rate=Decimal("65000"), decimals=8)


@pytest.mark.parametrize(
    "amount,rate,decimals",
    [(Decimal("1"), Decimal("0"), 8), (Decimal("1"), Decimal("-1"), 8), (Decimal("-1"), Decimal("1"), 8), (Decimal("1"), Decimal("1"), -1)],
)
def test_nonsense_inputs_are_refused(amount, rate, decimals):
    with pytest.raises(ValueError):
        price_in_base_units(amount=amount, rate=rate, decimals=decimals)
