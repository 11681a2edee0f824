"""JSON formats strict GoCoin clients parse: ISO times with milliseconds and Z, decimal strings; and the times
clients send in filters."""

from datetime import UTC, datetime, time
from decimal import Decimal

from django.utils.dateparse import parse_date, parse_datetime


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


def time_parse(value: str, *, end_of_day: bool) -> datetime | None:
    """An ISO 8601 time, or a date taken as the start (or end) of that day; UTC unless it says otherwise. None when
    it is neither."""
    try:
        moment = parse_datetime(value.strip())
        day = None if moment else parse_date(value.strip())
    except ValueError:
        return None
    if moment is None:
        if day is None:
            return None
        moment = datetime.combine(day, time.max if end_of_day else time.min)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
