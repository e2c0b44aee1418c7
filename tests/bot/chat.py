"""A member chatting with the bot through the real HTTP callback and the emulator (test helper)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from salesnav.bot.emulator import callbacks
from salesnav.models import InboundMessage, OutboundMessage
from salesnav.models import session as db


class Chat:
    def __init__(self, live_app: Any, userid: str = "rep01") -> None:
        self.live = live_app
        self.settings = live_app.settings
        self.userid = userid

    def post(self, xml: str) -> None:
        response = callbacks.post_callback(self.live.base_url, self.settings, xml)
        assert response.status_code == 200, response.text
        self.live.drain()

    def say(self, text: str) -> None:
        self.post(callbacks.text_xml(self.settings, self.userid, text))

    def click(self, key: str) -> None:
        self.post(callbacks.click_xml(self.settings, self.userid, key))

    def tap(self, card: dict[str, Any], key: str, selected: dict[str, list[str]] | None = None) -> None:
        """Tap a card button; the event carries a fresh response code, as WeCom's does."""
        code = self.live.emulator.control(issue_response_code=True)["response_code"]
        self.post(
            callbacks.template_card_event_xml(
                self.settings, self.userid, task_id=card["task_id"], key=key, response_code=code, selected=selected
            )
        )

    def sent(self) -> list[dict[str, Any]]:
        return self.live.emulator.sent(self.userid)

    def last_text(self) -> str:
        texts = [m["payload"]["content"] for m in self.sent() if m["msgtype"] == "text"]
        assert texts, f"no text reply to {self.userid}: {self.sent()}"
        return texts[-1]

    def last_card(self) -> dict[str, Any]:
        """The card as the member sees it now: the last one sent, with its in-place updates applied."""
        cards = [m["payload"] for m in self.sent() if m["msgtype"] == "template_card"]
        assert cards, f"no card sent to {self.userid}"
        updates = [
            u["template_card"]
            for u in self.live.emulator.card_updates()
            if u["template_card"] and u["template_card"].get("task_id") == cards[-1]["task_id"]
        ]
        return updates[-1] if updates else cards[-1]


def button(card: dict[str, Any], text: str) -> str:
    for b in card["button_list"]:
        if b["text"] == text:
            return b["key"]
    raise AssertionError(f"no button {text!r} in {[b['text'] for b in card['button_list']]}")


def inbound_rows() -> list[InboundMessage]:
    with db.transaction() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def outbound_rows() -> list[OutboundMessage]:
    with db.transaction() as session:
        return list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))
