"""Decrypted WeCom callback XML → one small typed message.

wechatpy 1.8.18 parses neither `template_card_event` nor `change_external_contact` (both come back
as UnknownMessage), so we read the XML ourselves, with defusedxml: a DOCTYPE, an entity or an
external reference is refused outright (XXE, billion laughs), even inside an encrypted body.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_DEPTH = 16  # WeCom's deepest message (a template card event's OptionIds) is 5 levels
SYSTEM_SENDER = "sys"  # change_external_contact and other corp-level events come "from" sys
MAX_DEDUPE_KEY = 300  # the column's width


class MalformedMessage(ValueError):
    """The XML is not a WeCom message we can read (syntax, entities, missing fields)."""


def parse_xml(text: str | bytes) -> Element:
    """Parse untrusted XML; DOCTYPEs and entities are refused rather than expanded."""
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException) as exc:
        raise MalformedMessage(f"unreadable XML: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise MalformedMessage(f"root element is <{root.tag}>, expected <xml>")
    _check_depth(root)
    return root


def _check_depth(root: Element) -> None:
    """Refuse absurd nesting before anything walks the tree recursively (5,000 levels would be a RecursionError)."""
    level, frontier = 1, list(root)
    while frontier:
        level += 1
        if level > MAX_DEPTH:
            raise MalformedMessage(f"XML nested deeper than {MAX_DEPTH} levels")
        frontier = [child for element in frontier for child in element]


@dataclass(frozen=True)
class WeComMessage:
    msg_type: str
    from_user: str
    create_time: int
    fields: dict[str, Any] = field(default_factory=dict)  # every element, for the stored payload

    def get(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    @property
    def event(self) -> str | None:
        event = self.get("Event")
        return event.lower() if event else None

    @property
    def event_key(self) -> str | None:
        return self.get("EventKey")

    @property
    def actor_userid(self) -> str:
        """The member the message is about: events from `sys` name the member in UserID."""
        if self.from_user == SYSTEM_SENDER:
            return self.get("UserID") or SYSTEM_SENDER
        return self.from_user

    @property
    def selected_options(self) -> dict[str, list[str]]:
        """Template card selections: QuestionKey → chosen option ids."""
        items = _as_list((self.fields.get("SelectedItems") or {}).get("SelectedItem"))
        chosen: dict[str, list[str]] = {}
        for item in items:
            if not isinstance(item, dict) or not item.get("QuestionKey"):
                continue
            ids = _as_list((item.get("OptionIds") or {}).get("OptionId"))
            chosen[str(item["QuestionKey"])] = [str(i) for i in ids if i]
        return chosen

    def dedupe_key(self) -> str:
        """What makes a WeCom retry the same message: MsgId, or an event's identifying fields."""
        msg_id = self.get("MsgId")
        if self.msg_type != "event" and msg_id:
            key = f"msg:{msg_id}"
        elif self.event == "change_external_contact":
            # Sent from `sys`: two members adding contacts in the same second differ only here.
            key = ":".join(
                str(part or "")
                for part in (
                    "event",
                    self.from_user,
                    self.create_time,
                    self.event,
                    self.get("ChangeType"),
                    self.get("UserID"),
                    self.get("ExternalUserID"),
                )
            )
        else:
            # A card tap's ResponseCode is new on every tap and the same on its retries: the same button tapped
            # twice in one second (a contact toggled off and on) is two taps, not a redelivery.
            key = ":".join(
                str(part or "")
                for part in (
                    "event",
                    self.from_user,
                    self.create_time,
                    self.event,
                    self.event_key,
                    self.get("TaskId"),
                    self.get("ResponseCode"),
                )
            )
        if len(key) > MAX_DEDUPE_KEY:
            key = key[:200] + ":" + hashlib.sha256(key.encode()).hexdigest()
        return key


def parse_message(text: str | bytes) -> WeComMessage:
    root = parse_xml(text)
    fields = _children(root)
    msg_type = fields.get("MsgType")
    from_user = fields.get("FromUserName")
    create_time = fields.get("CreateTime")
    if not isinstance(msg_type, str) or not msg_type.strip():
        raise MalformedMessage("MsgType missing")
    if not isinstance(from_user, str) or not from_user.strip():
        raise MalformedMessage("FromUserName missing")
    try:
        created = int(str(create_time).strip())
    except ValueError as exc:
        raise MalformedMessage("CreateTime missing or not an integer") from exc
    return WeComMessage(msg_type.strip().lower(), from_user.strip(), created, fields)


def _children(element: Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        value: Any = _children(child) if len(child) else (child.text or "")
        if child.tag in out:  # a repeated element (OptionId, SelectedItem) becomes a list
            previous = out[child.tag]
            out[child.tag] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[child.tag] = value
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
