"""Statements on the hot paths run as server-side prepared statements on PostgreSQL: each connection parses and
plans one once and then only executes it, which halves what such a statement costs PostgreSQL. Elsewhere, or with
`DATABASE_PREPARED_STATEMENTS` off (for a pooler in transaction mode, which does not keep a session's prepared
statements), they run as plain statements."""

import hashlib
import re

from django.conf import settings
from django.db import NotSupportedError
from django.db.backends.signals import connection_created
from django.dispatch import receiver

_names: dict[str, tuple[str, str]] = {}
_PLACEHOLDER = re.compile(r"%%|%s")
_FEATURE_NOT_SUPPORTED = "0A000"


def execute(cursor, sql: str, params: list | tuple, *, wait_for_disk: bool = True) -> None:
    """`cursor.execute(sql, params)`, prepared on the cursor's connection the first time it runs there.

    `wait_for_disk=False` lets a statement run outside a transaction commit without waiting for its record to reach
    the disk (`synchronous_commit` off for that statement alone). Only for a write that the next durable commit of
    the same session makes durable too (the log is written in order) and whose loss in a crash before then does no
    harm."""
    connection = cursor.db
    if connection.vendor != "postgresql":
        cursor.execute(sql, params)
        return
    asynchronous = "" if wait_for_disk or connection.in_atomic_block else "SET LOCAL synchronous_commit TO OFF; "
    if not settings.DATABASE_PREPARED_STATEMENTS:
        cursor.execute(asynchronous + sql, params)
        return
    name, prepare = _prepared_form(sql)
    # name -> True when prepared on this connection, False when prepared but outdated by a schema change.
    statements = connection.__dict__.setdefault("prepared_statements", {})
    arguments = f"({', '.join(['%s'] * len(params))})" if params else ""
    for attempt in (1, 2):
        if statements.get(name) is False:
            cursor.execute(f"DEALLOCATE {name}")
            del statements[name]
        if name not in statements:
            cursor.execute(prepare)
            statements[name] = True
        try:
            cursor.execute(f"{asynchronous}EXECUTE {name}{arguments}", params)
            return
        except NotSupportedError as exc:
            # A migration changed the type of a column the statement returns: PostgreSQL refuses the plan it cached
            # ("cached plan must not change result type") and the statement is prepared anew. Inside a transaction,
            # which that error has aborted, only the next call can.
            if getattr(exc.__cause__, "pgcode", None) != _FEATURE_NOT_SUPPORTED:
                raise
            statements[name] = False
            if attempt == 2 or connection.in_atomic_block:
                raise


def _prepared_form(sql: str) -> tuple[str, str]:
    if sql not in _names:
        numbers = iter(range(1, len(sql)))
        text = _PLACEHOLDER.sub(lambda match: "%" if match.group() == "%%" else f"${next(numbers)}", sql)
        name = "hot_" + hashlib.sha1(sql.encode()).hexdigest()[:24]
        _names[sql] = name, f"PREPARE {name} AS {text}"
    return _names[sql]


@receiver(connection_created)
def _new_connection_has_none(sender, connection, **kwargs) -> None:
    connection.prepared_statements = {}
