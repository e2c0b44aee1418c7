"""Bulk writes for the bulk handlers (an Excel import): ids taken up front, then one statement per table.

Written as ORM objects, an import of 10,000 rows was a unit of work over some 100,000 objects and
multi-VALUES INSERT ... RETURNING statements that the driver parses again each time. Here the ids come
first, in one query (PostgreSQL: the table's sequence; SQLite: max(id) under the write lock, taken first),
so that nothing has to be returned; then the rows go in as one COPY per table on PostgreSQL (one statement,
so the statement triggers of migration 0012 run once for all of them; binary, so that neither side writes or
parses each number and time as text) and as one executemany on SQLite.
A row is written exactly as an ORM insert would write it: the columns' Python defaults (created_at, ...) and
the column types' bind processing (UTC times, enum values, JSON) are applied; columns left out get their
server default. Nothing here checks anything: the handlers validate first.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    BindParameter,
    Boolean,
    ColumnElement,
    Connection,
    Dialect,
    Engine,
    FromClause,
    String,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    event,
    false,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault
from sqlalchemy.sql.type_api import TypeEngine
from sqlalchemy.sql.visitors import InternalTraversal

from salesnav.models.json_text import json_text

_SEQUENCES: dict[str, str | None] = {}  # table → its id sequence (PostgreSQL), looked up once per process


def _table(mapped: FromClause) -> Table:
    """A model's `__table__` (typed as any FROM clause by SQLAlchemy) as the table it is."""
    if not isinstance(mapped, Table):
        raise TypeError(f"not a table: {mapped!r}")
    return mapped


def take_ids(session: Session, mapped: FromClause, n: int) -> list[int]:
    """`n` new ids for `table`, ascending, to be written by this transaction before it takes more for it."""
    table = _table(mapped)
    if n <= 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sequence = _SEQUENCES.get(table.name)
        if sequence is None:
            sequence = connection.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar()
            _SEQUENCES[table.name] = sequence
        ids = connection.execute(  # one array in one row: thousands of rows would each be fetched apart
            text("SELECT array_agg(nextval(CAST(:s AS regclass))) FROM generate_series(1, :n)"),
            {"s": sequence, "n": n},
        ).scalar_one()
        return sorted(ids)
    # SQLite: a write that changes nothing takes the database's write lock for this transaction, so no
    # one else can add a row between reading the largest id and writing ours.
    connection.execute(update(table).where(false()).values({table.c.id: table.c.id}))
    top = connection.execute(select(func.max(table.c.id))).scalar() or 0
    return list(range(top + 1, top + n + 1))


def insert(session: Session, mapped: FromClause, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write `rows` (each with the same keys, ids included) into `table` in one statement."""
    table = _table(mapped)
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    given = set(rows[0])
    columns = [c for c in table.columns if c.key in given or c.default is not None]
    # A column left out takes its Python default, worked out once: the rows of one statement are written at
    # one moment (created_at), as one INSERT ... VALUES would be.
    fill: list[tuple[str | None, Any, Any]] = []  # (the row's key, or None and the constant; the processor)
    for column in columns:
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if dialect.name == "postgresql" and isinstance(column.type, JSON):
            # The JSON text the engine writes for the column (`json_text`), without wrapping each value
            # first: a COPY takes the text of a json column as it is.
            process = json_text
        if column.key in given:
            fill.append((column.key, None, process))
            continue
        default = column.default
        assert default is not None
        if isinstance(default, ScalarElementColumnDefault):
            value = default.arg
        elif isinstance(default, CallableColumnDefault):
            value = cast(Any, default.arg)(None)  # a callable is wrapped to take a context (none here)
        else:
            raise ValueError(f"{table.name}.{column.key}: only a Python default can be applied here")
        fill.append((None, value if process is None else process(value), None))
    values = [
        [
            constant if key is None else row[key] if process is None else process(row[key])
            for key, constant, process in fill
        ]
        for row in rows
    ]
    quote = dialect.identifier_preparer.quote
    # Names from the table's metadata, never from input: safe to write into the statement.
    into = f"{quote(table.name)} ({', '.join(quote(c.name) for c in columns)})"
    if dialect.name == "postgresql":
        types = _binary_types(connection, table.name, [c.name for c in columns])
        _copy(connection, f"COPY {into} FROM STDIN" + (" (FORMAT BINARY)" if types else ""), types, values)
        return
    marks = ", ".join("?" * len(columns))  # sqlite3's parameter style
    connection.exec_driver_sql(f"INSERT INTO {into} VALUES ({marks})", [tuple(record) for record in values])  # noqa: S608


_PENDING = "salesnav.bulk.copy"  # connection.info: the COPY still running behind its caller
# The connection events before which that COPY must have ended (and its error been raised).
_WATCHED = ("before_cursor_execute", "commit", "savepoint", "release_savepoint")
_UNDONE = ("rollback", "rollback_savepoint")  # the COPY is undone with the rest: waited for, its error moot


def watch(engine: Engine) -> None:
    """Let `insert` run its COPYs on `engine` behind the caller (`_copy`): every statement, commit and savepoint
    on a connection first waits for the COPY running there and raises its error; a rollback waits for it only,
    and goes on (it undoes the COPY too, and must not be stopped by its error). Called for each PostgreSQL
    engine as it is made (session.make_engine); on an engine not watched the COPYs run in line."""
    for name in _WATCHED:
        if not event.contains(engine, name, finish_copy):
            event.listen(engine, name, finish_copy)
    for name in _UNDONE:
        if not event.contains(engine, name, _abandon_copy):
            event.listen(engine, name, _abandon_copy)


def _abandon_copy(connection: Connection, *_event_args: Any) -> None:
    pending = connection.info.pop(_PENDING, None)
    if pending is not None:
        pending[0].join()


def _copy(connection: Connection, statement: str, types: list[str] | None, values: list[list[Any]]) -> None:
    """Run a COPY. On a watched engine it runs on a thread of its own and this returns once it has started,
    so the caller builds its next rows while the database checks, indexes and triggers these (an import's
    COPYs waited on the server some 40 % of its time). psycopg's connection lock, held by the COPY until it
    ends, keeps anything else off the connection meanwhile; `finish_copy` raises its error in the caller's
    thread, at the next statement or at commit, so that a failed COPY is never committed or passed unseen."""
    finish_copy(connection)
    driver: Any = connection.connection.driver_connection  # psycopg's: cursor() is a context manager there
    failure: list[BaseException] = []

    def run(started: threading.Event | None) -> None:
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                if started is not None:
                    started.set()  # the connection's lock is held from here: later statements queue behind
                if types:
                    copy.set_types(types)
                for record in values:
                    copy.write_row(record)
        except BaseException as error:
            if started is None:
                raise
            failure.append(error)  # raised again by finish_copy, in the caller's thread
        finally:
            if started is not None:
                started.set()

    if not event.contains(connection.engine, "commit", finish_copy):
        run(None)
        return
    started = threading.Event()
    thread = threading.Thread(target=run, args=(started,), name="bulk-copy", daemon=True)
    connection.info[_PENDING] = (thread, statement, failure)
    thread.start()
    started.wait()
    if failure:  # it did not even start
        finish_copy(connection)


def finish_copy(connection: Connection, *_event_args: Any) -> None:
    """Wait for the COPY running behind on `connection`, if any, and raise its error."""
    pending = connection.info.pop(_PENDING, None)
    if pending is None:
        return
    thread, statement, failure = pending
    thread.join()
    if not failure:
        return
    error = failure[0]
    dbapi_error = connection.dialect.loaded_dbapi.Error
    if isinstance(error, dbapi_error):  # as SQLAlchemy raises a statement's error (IntegrityError, ...)
        raise DBAPIError.instance(statement, None, error, dbapi_error) from error
    raise error


_COLUMN_TYPES: dict[str, dict[str, str]] = {}  # table → column → its type's name (PostgreSQL), read once per process
# Types a binary COPY writes as psycopg's built-in dumpers do; json's binary form is its text, which `insert`
# has already made. A table with a column of any other type is copied as text.
_BINARY = {"int2", "int4", "int8", "text", "varchar", "bool", "timestamptz", "date", "float8", "numeric"}


def _binary_types(connection: Any, table: str, columns: list[str]) -> list[str] | None:
    """The columns' types for a binary COPY (what the database would otherwise parse from text in every row:
    an import writes some 100,000 rows), or None where a column's type is not one binary COPY is used for."""
    types = _COLUMN_TYPES.get(table)
    if types is None:
        types = dict(
            connection.execute(
                text(
                    "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
                    " WHERE a.attrelid = CAST(:t AS regclass) AND a.attnum > 0 AND NOT a.attisdropped"
                ),
                {"t": table},
            ).all()
        )
        _COLUMN_TYPES[table] = types
    # A column this process has not seen (added by a migration since it read the table) is copied as text.
    named = ["text" if types.get(c) == "json" else types.get(c, "") for c in columns]
    return named if all(t in _BINARY for t in named) else None


def insert_new(session: Session, mapped: FromClause, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Give each row a new id (`row["id"]`, in order) and write them all in one statement; returns the ids."""
    table = _table(mapped)
    ids = take_ids(session, table, len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
    insert(session, table, rows)
    return ids


class _ValueList(TypeDecorator[list[Any]]):
    """Values as one bound value: an array of `item` on PostgreSQL (bigint[] for ids, text[] for names), a JSON
    array on SQLite (read back by json_each). (Not the array's text, cast in the statement: tried, an import's
    lookups of thousands of ids then took up to a second each instead of milliseconds.)"""

    impl = Text
    cache_ok = True

    def __init__(self, item: type[TypeEngine[Any]]) -> None:
        super().__init__()
        self.item = item

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(ARRAY(self.item) if dialect.name == "postgresql" else Text())

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return json.dumps(value, ensure_ascii=False)


class _Among(ColumnElement[bool]):
    """`column` is one of the values of one bound list (see `among`)."""

    __visit_name__ = "bulk_among"
    inherit_cache = True
    _is_implicitly_boolean = True  # a condition as it is: no 「= 1」 after it where booleans are integers
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's own attribute: the cache key walks these)
        ("column", InternalTraversal.dp_clauseelement),
        ("values", InternalTraversal.dp_clauseelement),
    ]
    type = Boolean()

    def __init__(self, column: Any, values: BindParameter[Any]) -> None:
        self.column, self.values = column, values


@compiles(_Among, "postgresql")
def _among_on_postgresql(element: _Among, compiler: Any, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.values, **kw)})"


@compiles(_Among)
def _among_elsewhere(element: _Among, compiler: Any, **kw: Any) -> str:
    column, values = compiler.process(element.column, **kw), compiler.process(element.values, **kw)
    return f"{column} IN (SELECT value FROM json_each({values}))"  # noqa: S608 (compiled names and a bound value)


def among(column: Any, values: Sequence[int] | Sequence[str]) -> ColumnElement[bool]:
    """`column IN values` for any number of integer ids (or texts: names), as one bound value (PostgreSQL:
    `= ANY(bigint[])`, SQLite: `IN (SELECT value FROM json_each(...))`). As thousands of parameters, each such
    query was a long text the driver parsed again every time; written in as numbers, SQLAlchemy rendered each
    one (a tenth of a second per 10,000-row import). One statement text for any number of values: compiled
    once, cached — and one query for all of them, where a list of parameters had to be cut into thousands."""
    if isinstance(getattr(column, "type", None), String):
        return _Among(column, bindparam(None, [str(v) for v in values], type_=_ValueList(Text)))
    return _Among(column, bindparam(None, [int(i) for i in values], type_=_ValueList(BigInteger)))


def set_column(session: Session, mapped: FromClause, column: str, values: Mapping[int, int]) -> None:
    """Set one integer column of many rows (id → value) in one statement; the columns' onupdate (updated_at)
    apply as in any update."""
    table = _table(mapped)
    if not values:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        pairs = select(
            func.unnest(bindparam("ids", list(values), type_=ARRAY(BigInteger))).label("id"),
            func.unnest(bindparam("values", list(values.values()), type_=ARRAY(BigInteger))).label("value"),
        ).subquery()
        wanted = bindparam("wanted", list(values), type_=ARRAY(BigInteger))
        connection.execute(
            update(table)
            .where(table.c.id == pairs.c.id, table.c.id == func.any(wanted))
            .values({table.c[column]: pairs.c.value})
        )
        return
    connection.execute(
        update(table).where(table.c.id == bindparam("row_id")).values({table.c[column]: bindparam("value")}),
        [{"row_id": row_id, "value": value} for row_id, value in values.items()],
    )


DEAL_LINK = "fk_touchpoints_opportunity_id_opportunities"  # touchpoints.opportunity_id (migration 0023)


def defer_deal_links(session: Session) -> None:
    """Check touchpoints.opportunity_id at the end of this transaction rather than at each statement, so that
    a touchpoint can be written linked to the deal it opens (an id taken up front) just before that deal.
    PostgreSQL defers that one key; SQLite can only defer all of them (until the transaction ends)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET CONSTRAINTS {DEAL_LINK} DEFERRED"))
    else:
        connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")


def without_jit(session: Session) -> None:
    """No JIT compilation for the rest of this transaction (PostgreSQL). The planner compiles a plan's
    expressions once its estimated cost passes jit_above_cost, which the triggers' statements over a bulk
    write's thousands of rows do; the compiling took 30–270 ms a statement here, for statements that then run
    in tens of milliseconds."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL jit = off"))


def analyze(session: Session, *models: type[Any]) -> None:
    """Refresh PostgreSQL's statistics of tables a bulk write has just grown (an import's years of history).
    Until autovacuum gets to them the planner believes the old figures: the next fold of the Level 1
    aggregates over the imported days then chose nested loops and took minutes instead of a second.
    SQLite plans without such statistics: nothing to do there."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("ANALYZE " + ", ".join(m.__tablename__ for m in models)))
