"""Feed a WeCom message straight to the dispatcher, without HTTP or crypto (WeRoBot-style testing).

    inbound_id = feed(callbacks.text_xml(settings, "rep01", "触点 协和医院 面访 积极"))

The message is stored exactly as the callback would store it (same dedupe) and processed now,
in this thread; the replies are OutboundMessage rows, delivered by their own jobs.
"""

from __future__ import annotations

from salesnav.bot import inbound
from salesnav.bot.parse import parse_message


def feed(xml: str) -> int | None:
    """Store and process one message now; None when it was a duplicate of one already stored."""
    inbound_id = inbound.store(parse_message(xml), xml, enqueue=False)
    if inbound_id is not None:
        inbound.process_inbound(inbound_id)
    return inbound_id
