"""JSON formats strict GoCoin clients parse: ISO times with milliseconds and Z, decimal strings."""

from datetime import UTC, datetime
from decimal import Decimal


def iso_ms(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def decimal_plain(value: Decimal | None) -> str | None:
    """A rate as a plain decimal string without trailing zeros, but always with a fraction ("134.0")."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    if "." not in text:
        text += ".0"
    return text
