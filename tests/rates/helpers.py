from decimal import Decimal
from fractions import Fraction


def exact_18(value: Fraction) -> Decimal:
    """Independent reference: round an exact Fraction to 18 places, half to even."""
    scaled = round(value * 10**18)  # Fraction rounding is exact and half-to-even
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled)).rjust(19, "0")
    return Decimal(f"{sign}{digits[:-18]}.{digits[-18:]}")
