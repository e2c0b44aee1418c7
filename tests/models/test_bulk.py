"""The bulk writers: rows written in one statement read back exactly as they were given, on either database."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from salesnav.models import bulk
from salesnav.models import session as db
from salesnav.models.base import UTCDateTime
from salesnav.models.json_text import json_text


def test_json_text_means_what_the_standard_library_means():
    value = {"备注": "9.10 电话沟通", 7: [1, 2.5, None, True], "nested": {"a": []}}

    written = json_text(value)

    assert "备注" in written  # the characters themselves, not \u escapes
    assert json.loads(written) == json.loads(json.dumps(value))  # a key that is a number is written as a string


def _probe(name: str, *extra: Column) -> Table:
    return Table(
        name,
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        Column("label", String(40)),
        Column("body", Text),
        Column("small", SmallInteger),
        Column("count", Integer),
        Column("done", Boolean),
        Column("at", UTCDateTime),
        Column("doc", JSON),
        *extra,
    )


ROWS = [
    {
        "id": 1,
        "label": "上海协和医院（东院）",
        "body": "制表符\t换行\n反斜杠\\ 与 \\N",  # what a text COPY would have to escape
        "small": 16,
        "count": 2_000_000_000,
        "done": True,
        "at": datetime(2025, 9, 18, 2, 0, tzinfo=UTC),
        "doc": {"guessed": ["type", "emotion"], "金额": 580000},
    },
    {"id": 2, "label": None, "body": "", "small": None, "count": None, "done": False, "at": None, "doc": []},
]


@pytest.fixture
def created(session):
    """Create the probe tables a test asks for; drop them afterwards (SQLite does not roll back DDL)."""
    tables: list[Table] = []

    def create(table: Table) -> Table:
        table.create(session.connection())
        tables.append(table)
        return table

    yield create
    session.rollback()
    for table in tables:
        table.drop(session.connection(), checkfirst=True)
    session.commit()


def test_rows_written_in_bulk_read_back_as_given(session, created):
    table = created(_probe("bulk_probe_plain"))

    bulk.insert(session, table, [dict(row) for row in ROWS])

    assert [dict(r._mapping) for r in session.execute(select(table).order_by(table.c.id))] == ROWS


def test_a_table_with_a_column_binary_copy_does_not_write_is_copied_as_text(session, created):
    table = created(_probe("bulk_probe_jsonb", Column("extra", JSON().with_variant(JSONB(), "postgresql"))))
    rows = [{**row, "extra": {"k": row["id"]}} for row in ROWS]

    bulk.insert(session, table, [dict(row) for row in rows])

    assert [dict(r._mapping) for r in session.execute(select(table).order_by(table.c.id))] == rows


def test_the_statement_after_a_bulk_write_sees_its_rows(session, created):
    # On PostgreSQL the COPY runs behind the caller: the next statement waits for it, never overtakes it.
    table = created(_probe("bulk_probe_order"))

    bulk.insert(session, table, [{**ROWS[1], "id": n} for n in range(1, 5001)])

    assert session.execute(select(func.count()).select_from(table)).scalar_one() == 5000


def test_a_failed_bulk_write_is_raised_by_the_next_statement(session, created):
    table = created(_probe("bulk_probe_failed_next"))
    twice = [{**ROWS[1], "id": 1}, {**ROWS[1], "id": 1}]

    with pytest.raises(IntegrityError):
        bulk.insert(session, table, twice)
        session.execute(select(func.count()).select_from(table))  # at the latest


def test_a_failed_bulk_write_is_never_committed(session, created):
    table = created(_probe("bulk_probe_failed_commit"))
    session.commit()  # the table itself stays
    twice = [{**ROWS[1], "id": n} for n in (1, 2, 2)]

    with pytest.raises(IntegrityError):
        bulk.insert(session, table, twice)
        session.commit()
    session.rollback()

    with db.new_session() as fresh:
        assert fresh.execute(select(func.count()).select_from(table)).scalar_one() == 0


def test_jit_is_off_for_the_rest_of_the_transaction_only(session):
    postgres = session.get_bind().dialect.name == "postgresql"
    before = session.execute(text("SHOW jit")).scalar_one() if postgres else None

    bulk.without_jit(session)  # (SQLite has no JIT: nothing to do there)

    if postgres:
        assert session.execute(text("SHOW jit")).scalar_one() == "off"
        session.rollback()
        assert session.execute(text("SHOW jit")).scalar_one() == before


def test_a_rollback_after_a_failed_bulk_write_goes_through(session, created):
    table = created(_probe("bulk_probe_failed_rollback"))
    session.commit()
    twice = [{**ROWS[1], "id": 1}, {**ROWS[1], "id": 1}]

    try:
        bulk.insert(session, table, twice)  # (SQLite raises here; PostgreSQL at the next statement or commit)
    except IntegrityError:
        pass
    session.rollback()  # as a unit of work does when something else failed meanwhile: never stopped by the COPY

    bulk.insert(session, table, [{**ROWS[1], "id": 7}])
    session.commit()
    assert session.execute(select(table.c.id)).scalars().all() == [7]


def test_among_finds_exactly_the_ids_given_in_one_cached_statement(session, created):
    table = created(_probe("bulk_probe_among"))
    bulk.insert(session, table, [{**ROWS[1], "id": i} for i in range(1, 3001)])
    wanted = [*range(2, 3001, 3), 999_999]  # a thousand of them, and one that is not there
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(session.get_bind(), "before_cursor_execute", listen)
    try:

        def among(ids: list[int]) -> list[int]:
            return sorted(session.scalars(select(table.c.id).where(bulk.among(table.c.id, ids))))

        assert among(wanted) == list(range(2, 3001, 3))
        assert among([]) == []
        assert among([8, 7]) == [7, 8]
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", listen)
    assert len(set(statements)) == 1  # one text for any number of ids: no id written into it
    assert "2998" not in statements[0]


def test_among_finds_names_too_and_nothing_for_no_names(session, created):
    table = created(_probe("bulk_probe_among_names"))
    names = ["上海协和医院（东院）", "杭州康明医疗器械有限公司", '它\'s "引号" 与 {花括号}, 逗号']
    bulk.insert(session, table, [{**ROWS[1], "id": i, "label": name} for i, name in enumerate(names, 1)])

    def among(wanted: list[str]) -> list[int]:
        return sorted(session.scalars(select(table.c.id).where(bulk.among(table.c.label, wanted))))

    assert among([names[2], names[0], "不存在的医院"]) == [1, 3]
    assert among([]) == []
