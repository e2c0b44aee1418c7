"""From message type / event / menu key / card button to a route: a registry, one decorator per route.

    @router.message("text")                                   # a message type
    @router.event("enter_agent")                              # an event
    @router.event("click", key="TOUCHPOINT_NEW")              # an app menu key
    @router.event("change_external_contact", key="add_external_contact")
    @router.card_button("tp")                                 # card buttons whose key starts "tp:"

Anything without a route reaches the fallback: stored, acknowledged, marked ignored, never an error.
A DomainError raised by a handler becomes a Chinese reply (`refuse`) and leaves no partial writes behind.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.bot import outbox
from salesnav.bot.parse import WeComMessage
from salesnav.handlers.errors import DomainError
from salesnav.models import InboundMessage, OutboundMessage, User

log = logging.getLogger(__name__)

UNKNOWN_USER_REPLY = "您的企业微信账号还没有开通销售导航仪，请联系管理员。"
ROUTE_MODULES = (
    "salesnav.bot.capture.welcome",
    "salesnav.bot.capture.touchpoint_card",
    "salesnav.bot.capture.opportunity",
    "salesnav.bot.capture.stage_move",
    "salesnav.bot.capture.tasks",
    "salesnav.bot.capture.text",
    "salesnav.bot.capture.media",
    "salesnav.bot.capture.excel",
    "salesnav.bot.capture.voice_note",
    "salesnav.bot.capture.invoice_photo",
    "salesnav.bot.capture.external_contact",
    "salesnav.bot.capture.annotate",
    "salesnav.bot.capture.unfreeze",
    "salesnav.bot.capture.diagnosis",
    "salesnav.bot.capture.ticket_answer",
    "salesnav.bot.capture.daily_report",
)


@dataclass
class Incoming:
    """What a route gets: the message, the member who sent it, the session, and reply helpers."""

    session: Session
    message: WeComMessage
    inbound: InboundMessage
    user: User | None
    ignored: bool = False
    note: str | None = None
    _replies: int = field(default=0, repr=False)

    @property
    def member(self) -> User:
        """The sender, for routes that only run for known members (the router answers strangers itself)."""
        assert self.user is not None
        return self.user

    def _key(self) -> str:
        # Per inbound message: processing the same message twice never sends twice.
        self._replies += 1
        return f"inbound:{self.inbound.id}:reply:{self._replies}"

    def reply_text(self, content: str) -> OutboundMessage:
        return outbox.queue_text(self.session, self.message.actor_userid, content, idempotency_key=self._key())

    def reply_card(self, card: dict[str, object]) -> OutboundMessage:
        return outbox.queue_template_card(self.session, self.message.actor_userid, card, idempotency_key=self._key())

    def update_card(self, response_code: str, card: dict[str, object]) -> OutboundMessage:
        return outbox.queue_message(
            self.session,
            self.message.actor_userid,
            "update_template_card",
            {"response_code": response_code, "template_card": card},
            idempotency_key=self._key(),
        )

    def show_card(self, card: dict[str, object]) -> OutboundMessage:
        """Update the tapped card in place with this tap's response code; without one, send the card afresh."""
        code = self.message.get("ResponseCode")
        return self.update_card(code, card) if code else self.reply_card(card)


Route = Callable[[Incoming], None]


def _ignore(incoming: Incoming) -> None:
    incoming.ignored = True
    incoming.note = f"no route for {incoming.message.msg_type}/{incoming.message.event or '-'}"


@dataclass(frozen=True)
class _Entry:
    route: Route
    needs_user: bool


class Router:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str | None, str | None], _Entry] = {}
        self._card_buttons: dict[str, _Entry] = {}
        self._fallback: Route = _ignore

    def _add(self, key: tuple[str, str | None, str | None], needs_user: bool) -> Callable[[Route], Route]:
        def register(route: Route) -> Route:
            if key in self._routes:
                raise ValueError(f"two routes for {key}")
            self._routes[key] = _Entry(route, needs_user)
            return route

        return register

    def message(self, msg_type: str, *, needs_user: bool = True) -> Callable[[Route], Route]:
        return self._add((msg_type, None, None), needs_user)

    def event(self, event: str, *, key: str | None = None, needs_user: bool = True) -> Callable[[Route], Route]:
        """`key` is the menu EventKey for clicks and the ChangeType for change_external_contact."""
        return self._add(("event", event.lower(), key), needs_user)

    def card_button(self, prefix: str) -> Callable[[Route], Route]:
        def register(route: Route) -> Route:
            self._card_buttons[prefix] = _Entry(route, True)
            return route

        return register

    def fallback(self, route: Route) -> Route:
        self._fallback = route
        return route

    def route_for(self, message: WeComMessage) -> _Entry:
        """The message's route, or the fallback (which needs no known sender)."""
        return self.resolve(message) or _Entry(self._fallback, needs_user=False)

    def resolve(self, message: WeComMessage) -> _Entry | None:
        if message.msg_type != "event":
            return self._routes.get((message.msg_type, None, None))
        event = message.event or ""
        if event == "template_card_event":
            prefix = (message.event_key or "").split(":", 1)[0]
            return self._card_buttons.get(prefix)
        key = message.get("ChangeType") if event == "change_external_contact" else message.event_key
        return self._routes.get(("event", event, key)) or self._routes.get(("event", event, None))


router = Router()


_loaded = False


def load_routes() -> Router:
    """Import the route modules once; their decorators fill the registry."""
    global _loaded
    if not _loaded:
        for name in ROUTE_MODULES:
            importlib.import_module(name)
        _loaded = True
    return router


@dataclass(frozen=True)
class Outcome:
    ignored: bool
    note: str | None


def dispatch(session: Session, inbound: InboundMessage, message: WeComMessage) -> Outcome:
    """Run the message's route inside the caller's transaction."""
    entry = load_routes().route_for(message)
    user = session.scalars(
        select(User).where(User.wecom_userid == message.actor_userid, User.deleted_at.is_(None))
    ).first()
    incoming = Incoming(session, message, inbound, user)
    if entry.needs_user and (user is None or not user.active):
        incoming.reply_text(UNKNOWN_USER_REPLY)
        return Outcome(False, "sender is not a SalesNav user")
    # A DomainError propagates: the caller rolls the whole unit back, then calls `refuse`.
    entry.route(incoming)
    return Outcome(incoming.ignored, incoming.note)


def refuse(session: Session, inbound: InboundMessage, message: WeComMessage, error: DomainError) -> Outcome:
    """The user asked for something the rules refuse: nothing was written; tell them why, in Chinese."""
    outbox.queue_text(session, message.actor_userid, error.message, idempotency_key=f"inbound:{inbound.id}:refused")
    return Outcome(False, f"refused: {error.message}")
