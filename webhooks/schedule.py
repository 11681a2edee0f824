"""When a failed delivery is tried again, and which answers are worth another try."""

from datetime import datetime, timedelta

# The wait after the n-th attempt failed, n = 1, 2, ...; past the end of the table the last wait repeats.
RETRY_WAITS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
    timedelta(hours=24),
)
# No attempt is made later than this after the event: the last one is made at this mark, then the delivery fails.
RETRY_FOR = timedelta(days=3)


def retry_at(*, attempt_number: int, attempted_at: datetime, event_created_at: datetime) -> datetime | None:
    """When to try again after attempt `attempt_number` failed in a way worth retrying, or None to give up."""
    deadline = event_created_at + RETRY_FOR
    if attempted_at >= deadline:
        return None
    wait = RETRY_WAITS[min(attempt_number, len(RETRY_WAITS)) - 1]
    return min(attempted_at + wait, deadline)


def is_success(status: int) -> bool:
    return 200 <= status < 300


def is_retryable(status: int) -> bool:
    """Timeouts, rate limits and server errors may pass. Any other answer will not: a 3xx is not followed, 410 Gone
    means the endpoint asks us to stop, and other 4xx mean the request itself is refused."""
    return status in (408, 429) or 500 <= status < 600
