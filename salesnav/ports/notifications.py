"""The notification port: a use case records what is to be said to whom; a channel adapter carries it.

Each kind of notification is a small value below. `notify(session, note)` hands it to the adapter
registered for its kind, inside the caller's transaction: the WeCom adapter writes an outbox row there,
and the outbox's own job delivers it after commit (so a rolled-back use case says nothing, and a
re-run with the same key says nothing twice). A kind with no adapter is a wiring mistake and fails
loudly instead of dropping the message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

if TYPE_CHECKING:  # values only: the port never loads rows itself
    from salesnav.models import Alert, Annotation, Attachment, TicketPart, User


@dataclass(frozen=True)
class TextToMember:
    """A short text to one member (by WeCom userid); `key` makes a re-run send nothing more."""

    userid: str
    text: str
    key: str | None = None


@dataclass(frozen=True)
class CardToMember:
    """A card to one member: a title, a few lines and a link to open (a material, a page); `key` as above."""

    userid: str
    title: str
    description: str
    url: str
    button: str = "查看"
    key: str | None = None


@dataclass(frozen=True)
class FileToMember:
    """A kept file (an attachment row) to one member."""

    userid: str
    attachment: Attachment
    key: str | None = None


@dataclass(frozen=True)
class AlertToAnnotate:
    """An alert told to a manager or director as one card carrying `content`, with its 批注 button; `tag` is
    the alert's step. The adapter answers False when this person gets no card (the caller sends the text)."""

    alert: Alert
    manager: User
    tag: str
    content: str = ""


@dataclass(frozen=True)
class AlertDigestToMember:
    """Several alerts for one person from one scan (escalations): one message listing them (`lines`)."""

    alerts: tuple[Alert, ...]
    member: User
    lines: tuple[str, ...]
    rule_name: str
    key: str


@dataclass(frozen=True)
class AnnotationToRep:
    """A manager's annotation reaches the rep it is about, with its context."""

    annotation: Annotation


@dataclass(frozen=True)
class TicketPartToDepartment:
    """A collaboration part (its card) to one member of the department that answers it; or its reminder."""

    part: TicketPart
    member: User
    reminder: bool = False


@dataclass(frozen=True)
class BattlePackToRep:
    """A rep's battle pack of the day (`pack` is a `salesnav.handlers.battle_pack.BattlePack`)."""

    pack: Any


@dataclass(frozen=True)
class EmailBrief:
    """An e-mail (text and HTML) to people outside the chat, e.g. a department head's efficiency brief."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str


class NotificationNotWired(RuntimeError):
    """No adapter carries this kind of notification in this process (salesnav.adapters.register_adapters)."""


N = TypeVar("N")
Adapter = Callable[[Session | None, Any], Any]
BatchAdapter = Callable[[Session, Sequence[Any]], list[int]]

_adapters: dict[type, Adapter] = {}
_batch_adapters: dict[type, BatchAdapter] = {}


def register(kind: type[N], adapter: Callable[[Session | None, N], object]) -> None:
    """The adapter that carries `kind`; registering again replaces it (a process wires once, tests rewire)."""
    _adapters[kind] = adapter


def register_batch(kind: type[N], adapter: Callable[[Session, Sequence[N]], list[int]]) -> None:
    """An adapter that records many notes of `kind` at once (the 10:00 battle packs: one statement)."""
    _batch_adapters[kind] = adapter


def notify(session: Session | None, note: object) -> Any:
    """Record `note` in the caller's transaction for its channel to deliver after commit.

    `session` None: there is no transaction (a job that has closed its session before a slow send);
    the adapter delivers at once. Returns what the adapter returns (e.g. the outbox row)."""
    adapter = _adapters.get(type(note))
    if adapter is None:
        raise NotificationNotWired(f"no adapter carries {type(note).__name__}; call register_adapters() at start")
    return adapter(session, note)


def notify_all(session: Session, notes: Sequence[N], kind: type[N]) -> list[int]:
    """Record many notes of one kind at once; returns the ids of what was newly recorded."""
    adapter = _batch_adapters.get(kind)
    if adapter is None:
        raise NotificationNotWired(f"no batch adapter carries {kind.__name__}; call register_adapters() at start")
    return adapter(session, notes) if notes else []


def is_wired(kind: type) -> bool:
    return kind in _adapters or kind in _batch_adapters
