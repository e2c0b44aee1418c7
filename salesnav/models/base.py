"""Declarative base, shared column types and mixins."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import JSON, BigInteger, DateTime, Enum, Integer, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesnav import clock

# Stable constraint names so Alembic migrations are identical on PostgreSQL and SQLite.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Always aware UTC in Python; timestamptz on PostgreSQL, naive UTC on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store aware datetimes (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def db_enum(enum_cls: type[enum.Enum]) -> Enum:
    """Store an enum by its value, as a VARCHAR with a CHECK constraint (portable, readable in SQL)."""
    return Enum(
        enum_cls,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        create_constraint=True,
        length=32,
        name=enum_cls.__name__.lower(),
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it as a class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        list[str]: JSON(),
        list[int]: JSON(),
    }


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class SoftDeleteMixin:
    """Nothing is hard-deleted: rows are retired with a timestamp (see session guard)."""

    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class LabelledEnum(str, enum.Enum):
    """An enum stored by its English value and shown to users by its Chinese label."""

    label: str

    if TYPE_CHECKING:
        # After the class is made, calling it looks a member up by its value: `Emotion("positive")`.
        def __new__(cls, value: str) -> Self: ...
    else:

        def __new__(cls, value: str, label: str) -> LabelledEnum:
            member = str.__new__(cls, value)
            member._value_ = value
            member.label = label
            return member

    @classmethod
    def from_label(cls, text: str) -> Self | None:
        text = text.strip()
        for member in cls:
            if text in (member.label, member.value):
                return member
        return None
