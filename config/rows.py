"""Writes on the hot paths (an invoice with its timeline entry, option and callback; a callback's claim and
outcome; a sweep's events) without the ORM's per-call query building and, on PostgreSQL, in one round trip: a round trip costs both
sides more CPU than these statements do."""

from collections.abc import Callable
from functools import cache

from django.db import connections, transaction
from django.db.models import Field, Model

from config import prepared

_statements: dict[tuple, tuple[str, list[Field | None]]] = {}


class RowsInsert:
    """New, unsaved model instances gathered and then inserted together, as `save()` would insert each: defaults,
    `auto_now(_add)` stamps and field conversion apply, and database-assigned primary keys are set afterwards.

    `add` converts and stamps at once, so an instance's timestamps are final before `execute`: a body rendered
    in between shows what the row will hold. PostgreSQL gets one statement (data-modifying CTEs; the foreign
    keys are deferred to commit, so the order of the rows does not matter); other databases one per row, inside
    one transaction. Either way the rows are written all or none, in the caller's transaction or, outside one, in
    their own. The statements are built once per process. No model signals are sent: the models written here have
    no receivers.
    """

    def __init__(self, using: str = "default"):
        self.using = using
        self.instances: list[Model] = []
        self.values: list[list] = []
        self.when_committed: list[Callable[[], object]] = []
        self.written = False

    def add(self, *instances: Model) -> "RowsInsert":
        connection = connections[self.using]
        for instance in instances:
            self.instances.append(instance)
            self.values.append([f.get_db_prep_save(f.pre_save(instance, True), connection) for f in _fields(type(instance))])
        return self

    def on_commit(self, callback: Callable[[], object]) -> None:
        """Run `callback` once the rows are committed: at the caller's commit, or right after `execute` outside a
        transaction."""
        self.when_committed.append(callback)

    def execute(self) -> None:
        if not self.instances:
            return
        connection = connections[self.using]
        models = tuple(type(instance) for instance in self.instances)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                sql, returned = _combined_statement(models, connection)
                prepared.execute(cursor, sql, [value for values in self.values for value in values])
                returned_values = cursor.fetchone()
            else:
                returned, returned_values = [], []
                with transaction.atomic(using=self.using):
                    for model, values in zip(models, self.values, strict=True):
                        cursor.execute(_insert_sql(model, connection, returning=True), values)
                        field = _returned_field(model)
                        returned.append(field)
                        returned_values.append(_fetch_returned(cursor, connection, model, field))
        for instance, field, value in zip(self.instances, returned, returned_values, strict=True):
            if field is not None:
                setattr(instance, field.attname, value)
            instance._state.adding = False
            instance._state.db = self.using
        self.written = True
        callbacks = self.when_committed
        self.instances, self.values, self.when_committed = [], [], []
        for callback in callbacks:
            transaction.on_commit(callback, using=self.using)


def rows_insert(*instances: Model, into: RowsInsert | None = None) -> None:
    """Insert new, unsaved `instances` together now (see RowsInsert), or add them to the caller's `into`."""
    if into is not None:
        into.add(*instances)
    else:
        RowsInsert().add(*instances).execute()


def values_insert(model: type[Model], names: tuple[str, ...], rows: list[tuple], *, using: str = "default",
                  batch: int = 500) -> None:
    """Rows of `model` given as tuples of values for the fields `names`, inserted `batch` to a multi-row INSERT,
    without building model instances: for a sweep writing thousands. Each value is converted as its field converts
    it; defaults, `auto_now` stamps and database-assigned keys are the caller's to give or go without."""
    connection = connections[using]
    fields = [model._meta.get_field(name) for name in names]
    batch = max(1, min(batch, connection.ops.bulk_batch_size(fields, rows)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            cursor.execute(_insert_values_sql(model, fields, connection, rows=len(chunk)), [
                field.get_db_prep_save(value, connection) for row in chunk for field, value in zip(fields, row, strict=True)
            ])


@cache
def _fields(model: type[Model]) -> list[Field]:
    return [f for f in model._meta.local_concrete_fields if not f.db_returning and not f.generated]


@cache
def _returned_field(model: type[Model]) -> Field | None:
    return next((f for f in model._meta.local_concrete_fields if f.db_returning), None)


def _insert_sql(model: type[Model], connection, *, returning: bool) -> str:
    sql = _insert_values_sql(model, _fields(model), connection, rows=1)
    returned = _returned_field(model)
    if returning and returned is not None and connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {connection.ops.quote_name(returned.column)}"
    return sql


def _insert_values_sql(model: type[Model], fields: list[Field], connection, *, rows: int) -> str:
    quote = connection.ops.quote_name
    row = f"({', '.join(['%s'] * len(fields))})"
    return (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES {', '.join([row] * rows)}")


def _combined_statement(models: tuple[type[Model], ...], connection) -> tuple[str, list[Field | None]]:
    """`WITH r0 AS (INSERT ... RETURNING id), r1 AS (INSERT ...) SELECT (SELECT id FROM r0), NULL`: one row
    holding each row's database-assigned key (NULL where the model assigns its own)."""
    key = (models, connection.alias)
    if key not in _statements:
        quote = connection.ops.quote_name
        parts, columns, returned = [], [], []
        for number, model in enumerate(models):
            field = _returned_field(model)
            parts.append(f"r{number} AS ({_insert_sql(model, connection, returning=True)})")
            columns.append(f"(SELECT {quote(field.column)} FROM r{number})" if field is not None else "NULL")
            returned.append(field)
        _statements[key] = f"WITH {', '.join(parts)} SELECT {', '.join(columns)}", returned
    return _statements[key]


def _fetch_returned(cursor, connection, model: type[Model], field: Field | None) -> object:
    if field is None:
        return None
    if connection.features.can_return_columns_from_insert:
        return cursor.fetchone()[0]
    return connection.ops.last_insert_id(cursor, model._meta.db_table, field.column)


def statements_run(statements: list[tuple[str, list]], *, using: str = "default") -> None:
    """Runs the statements in order, all or nothing. PostgreSQL gets them as one query string: a single round trip,
    which outside a transaction runs as one implicit transaction. Other databases get one execute each inside
    `transaction.atomic()`."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(*_one_query_string(statements))
            return
        with transaction.atomic(using=using):
            for sql, params in statements:
                cursor.execute(sql, params)


def statements_then_rows(model: type[Model], statements: list[tuple[str, list]], sql: str, params: list,
                         *, using: str = "default") -> list[Model]:
    """`statements_run`, then the raw SELECT `sql` on `model` in the same transaction (and, on PostgreSQL, the same
    round trip); its rows come back as `model` instances converted as the ORM converts them, extra columns as
    attributes."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        return list(model.objects.using(using).raw(*_one_query_string([*statements, (sql, params)])))
    with transaction.atomic(using=using):
        statements_run(statements, using=using)
        return list(model.objects.using(using).raw(sql, params))


def _one_query_string(statements: list[tuple[str, list]]) -> tuple[str, list]:
    return "; ".join(sql for sql, _ in statements), [value for _, params in statements for value in params]
