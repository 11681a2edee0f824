"""Exact rate arithmetic: rates are Decimals with 18 places, the SpotRate.rate column's scale."""

from decimal import Decimal
from fractions import Fraction

RATE_PLACES = 18
# SpotRate.rate is numeric(40, 18): at most 22 digits before the point.
RATE_LIMIT = Decimal(10) ** (40 - RATE_PLACES)


def rate_round(value: Fraction | Decimal | int) -> Decimal:
    """Round an exact value to RATE_PLACES decimal places, half to even.

    The division stays a Fraction until this single rounding: dividing in a Decimal context
    first and quantizing after rounds twice, which can be off by one in the last place.
    """
    scaled = round(Fraction(value) * 10**RATE_PLACES)  # round() on a Fraction is exact half-even
    return Decimal(f"{scaled}E-{RATE_PLACES}")


def rate_divide(numerator: Decimal | int, denominator: Decimal | int) -> Decimal:
    return rate_round(Fraction(numerator) / Fraction(denominator))
