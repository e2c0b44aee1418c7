"""Storage rules: events in the same transaction, nothing hard-deleted, UTC times, integer money, migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text

from salesnav.models import Base, Customer, DomainEvent, Opportunity, Touchpoint, migrate
from salesnav.models import session as db
from salesnav.models.session import HardDeleteForbidden
from tests import factories as f

pytestmark = pytest.mark.smoke


def test_a_failed_unit_of_work_leaves_neither_the_change_nor_its_event(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    session.commit()
    with pytest.raises(RuntimeError), db.transaction() as tx:
        rep = tx.get(type(org.rep), org.rep.id)
        f.touchpoint(tx, rep, tx.get(Customer, cust.id))
        raise RuntimeError("crash after the handler, before commit")
    assert session.scalars(select(Touchpoint)).all() == []
    assert session.scalars(select(DomainEvent)).all() == []
    with db.transaction() as tx:
        f.touchpoint(tx, tx.get(type(org.rep), org.rep.id), tx.get(Customer, cust.id))
    assert len(session.scalars(select(Touchpoint)).all()) == 1
    assert len(session.scalars(select(DomainEvent)).all()) == 1


def test_nothing_is_hard_deleted(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    session.commit()
    session.delete(cust)
    with pytest.raises(HardDeleteForbidden, match="never hard-deleted"):
        session.flush()
    session.rollback()
    cust.deleted_at = frozen_clock.now()
    session.commit()
    assert session.get(Customer, cust.id).deleted_at is not None


def test_times_are_stored_in_utc_and_come_back_aware(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    shanghai = timezone(timedelta(hours=8))
    tp = f.touchpoint(session, org.rep, cust, occurred_at=datetime(2026, 3, 2, 9, 0, tzinfo=shanghai))
    session.commit()
    session.expire_all()
    stored = session.get(Touchpoint, tp.id).occurred_at
    assert stored == datetime(2026, 3, 2, 1, 0, tzinfo=UTC) and stored.utcoffset() == timedelta(0)
    from salesnav.handlers.errors import DomainError
    from salesnav.models import Task

    with pytest.raises(DomainError, match="时区"):
        f.touchpoint(session, org.rep, cust, occurred_at=datetime(2026, 3, 2, 9, 0))
    session.add(Task(assignee_id=org.rep.id, title="x", due_at=datetime(2026, 3, 2, 9, 0)))
    with pytest.raises(Exception, match="naive datetime refused"):
        session.flush()


def test_money_is_integer_fen():
    column = Opportunity.__table__.c.expected_amount_fen
    assert column.type.python_type is int


def test_migrations_reach_every_model_table(database):
    tables = set(inspect(db.get_engine()).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == migrate.heads()[0]


def test_there_is_exactly_one_alembic_head():
    assert len(migrate.heads()) == 1


def test_migrations_upgrade_from_empty_on_a_fresh_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    migrate.upgrade(url)
    engine = db.make_engine(url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_the_migrations_describe_exactly_the_models(database):
    """A model change without its migration (or the reverse) fails here, on both databases."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
