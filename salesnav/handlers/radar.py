"""雷达: tracked material links — a rep shares a material with a customer's contact as a link to a page we serve,
and opening, reading time and downloading become that customer's events; the rep is told in the chat.

A link carries a signed token (the app's SECRET_KEY, itsdangerous): the material, the customer, the contact (or
none), the rep who shared it and when it was issued. A token that does not verify is refused (`LinkRefused`), as
is one older than `LINK_VALID_DAYS` or whose material, customer or rep is gone. The contact is the token's, or the
customer's contact with the WeCom external contact id the link was made for.

Each opening is a `MaterialView` with a random nonce; the page gets the view's own signed id and reports reading
time with it (a beacon every few seconds while the page is visible, and once when it is hidden). Each beacon has
a sequence number: a post with a number already seen is a replay and is refused (`ReplayRefused`); the reading
time it claims can never exceed the time since the page was opened. The same link opened again within
`REOPEN_MINUTES` (a reload, a second tap) continues the same view. So one view makes at most one open message,
one download message and one read summary — each an outbox message with its own idempotency key — and one
event of each kind (dedupe key per view).

The read summary goes when the page says it was hidden (`final`), or, for a phone that just went dark, when the
clock's sweep finds the view silent for `IDLE_SECONDS` (`close_idle_views`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import customer_events as ce
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.scope import customer_for
from salesnav.models import Contact, Customer, EventSource, Material, MaterialView, User
from salesnav.ports.notifications import TextToMember, notify
from salesnav.settings import current_settings

LINK_SALT = "salesnav.radar.link"
VIEW_SALT = "salesnav.radar.view"
LINK_VALID_DAYS = 30
REOPEN_MINUTES = 30  # the same link opened again within this continues the same view (no second message)
IDLE_SECONDS = 120  # a view silent this long is over: its read summary goes
BEACON_SLACK_SECONDS = 5  # a beacon may claim this much more than the time since the page opened (clock skew)
MIN_READ_SECONDS = 10  # shorter reads are recorded but not told to the rep
SHORT_PATH = "/r/"  # where the page is served: PUBLIC_URL + /r/<token>

LINK_REFUSED = "链接无效：这个资料链接不完整或已被改动，请向发给您的销售索取新链接"
LINK_EXPIRED = f"链接已过期（{LINK_VALID_DAYS} 天内有效），请向发给您的销售索取新链接"
VIEW_REFUSED = "阅读记录无效：页面标识不完整或已被改动"
REPLAY_REFUSED = "重复的阅读上报，已忽略"
MATERIAL_GONE = "该资料已下架，请联系发给您的销售"


class LinkRefused(DomainError):
    """A forged, altered, expired or orphaned link or view id."""

    code = "link_refused"


class ReplayRefused(DomainError):
    """A beacon already counted (its sequence number was seen)."""

    code = "replay_refused"


@dataclass(frozen=True)
class LinkClaims:
    material_id: int
    customer_id: int
    contact_id: int | None
    rep_id: int
    issued_at: datetime


@dataclass(frozen=True)
class SharedLink:
    url: str
    token: str
    material: Material
    customer: Customer
    contact: Contact | None
    expires_at: datetime


@dataclass(frozen=True)
class Opened:
    """An opening of a link: the view and what the page shows."""

    view: MaterialView
    view_token: str  # the view's signed id, for the page's beacon and download link
    material: Material
    new: bool  # False: the same link opened again within REOPEN_MINUTES, the same view continued


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_settings().secret_key, salt=salt)


def link_url(token: str) -> str:
    base = current_settings().public_url or f"http://127.0.0.1:{current_settings().port}"
    return f"{base}{SHORT_PATH}{token}"


# --- sharing ---------------------------------------------------------------------------------------


def published_material(session: Session, material_id: int) -> Material:
    material = session.get(Material, material_id)
    now = clock.now()
    if material is None or material.deleted_at is not None or material.published_at > now:
        raise NotFound("素材不存在")
    if material.retired_at is not None and material.retired_at <= now:
        raise NotFound("该素材已下架，不能再分享")
    return material


def share_link(
    session: Session,
    rep: User,
    material_id: int,
    customer_id: int,
    *,
    contact_id: int | None = None,
    external_userid: str | None = None,
) -> SharedLink:
    """A tracked link to `material_id` for `customer_id` (and its contact, by id or WeCom external contact id),
    shared by `rep`, who is told when it is opened, read and downloaded. The rep must see the customer."""
    material = published_material(session, material_id)
    customer = customer_for(session, rep, customer_id)
    contact = _contact_of(session, customer, contact_id, external_userid)
    now = clock.now()
    token = link_token(material.id, customer.id, rep.id, contact.id if contact else None)
    return SharedLink(link_url(token), token, material, customer, contact, now + timedelta(days=LINK_VALID_DAYS))


def link_token(material_id: int, customer_id: int, rep_id: int, contact_id: int | None = None) -> str:
    """The signed token of a link issued now. No check here: `share_link` checks the rep may see the customer;
    the battle pack signs links only for the rep's own deals' customers."""
    return _serializer(LINK_SALT).dumps(
        {"m": material_id, "c": customer_id, "k": contact_id, "r": rep_id, "t": int(clock.now().timestamp())}
    )


def _contact_of(
    session: Session, customer: Customer, contact_id: int | None, external_userid: str | None
) -> Contact | None:
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.deleted_at is not None or contact.customer_id != customer.id:
            raise NotFound("联系人不存在或不属于该客户")
        return contact
    if external_userid:
        found = session.scalars(
            select(Contact).where(
                Contact.external_userid == external_userid,
                Contact.customer_id == customer.id,
                Contact.deleted_at.is_(None),
            )
        ).first()
        return found
    return None


def read_link(token: str) -> LinkClaims:
    """The claims of a link's token; `LinkRefused` when it was not signed by us or is past its validity."""
    try:
        raw: Any = _serializer(LINK_SALT).loads(token)
    except BadSignature as exc:
        raise LinkRefused(LINK_REFUSED) from exc
    try:
        claims = LinkClaims(
            material_id=int(raw["m"]),
            customer_id=int(raw["c"]),
            contact_id=int(raw["k"]) if raw.get("k") is not None else None,
            rep_id=int(raw["r"]),
            issued_at=datetime.fromtimestamp(int(raw["t"]), UTC),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LinkRefused(LINK_REFUSED) from exc
    if clock.now() - claims.issued_at > timedelta(days=LINK_VALID_DAYS):
        raise LinkRefused(LINK_EXPIRED)
    return claims


# --- the page --------------------------------------------------------------------------------------


def open_link(session: Session, token: str) -> Opened:
    """The page was opened: a new view (event material.opened, the rep told) or the same view continued."""
    claims = read_link(token)
    customer = session.get(Customer, claims.customer_id)
    rep = session.get(User, claims.rep_id)
    if customer is None or customer.deleted_at is not None or rep is None:
        raise LinkRefused(LINK_REFUSED)
    material = session.get(Material, claims.material_id)
    now = clock.now()
    if material is None or material.deleted_at is not None or (material.retired_at and material.retired_at <= now):
        raise NotFound(MATERIAL_GONE)
    digest = hashlib.sha256(token.encode()).hexdigest()
    recent = session.scalars(
        select(MaterialView)
        .where(
            MaterialView.token_digest == digest,
            MaterialView.last_seen_at >= now - timedelta(minutes=REOPEN_MINUTES),
        )
        .order_by(MaterialView.id.desc())
        .limit(1)
    ).first()
    if recent is not None:
        recent.last_seen_at = now
        return Opened(recent, _view_token(recent), material, new=False)
    contact_id = claims.contact_id
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.customer_id != customer.id:
            contact_id = None
    view = MaterialView(
        token_digest=digest,
        nonce=secrets.token_hex(16),
        material_id=material.id,
        customer_id=customer.id,
        contact_id=contact_id,
        rep_id=rep.id,
        opened_at=now,
        last_seen_at=now,
    )
    session.add(view)
    session.flush()
    ce.record_customer_event(
        session,
        customer_id=customer.id,
        contact_id=contact_id,
        kind=ce.MATERIAL_OPENED,
        occurred_at=now,
        payload=_payload(view, material),
        source=EventSource.RADAR,
        dedupe_key=f"radar:open:{view.id}",
    )
    _tell(session, view, rep, f"{who_read(session, view)}刚打开了{titled(material.title)}", "open")
    return Opened(view, _view_token(view), material, new=True)


def peek_link(session: Session, token: str) -> Material:
    """The material a valid link shows, recording nothing (a link preview fetched by a chat app's robot)."""
    claims = read_link(token)
    material = session.get(Material, claims.material_id)
    now = clock.now()
    if material is None or material.deleted_at is not None or (material.retired_at and material.retired_at <= now):
        raise NotFound(MATERIAL_GONE)
    return material


def _view_token(view: MaterialView) -> str:
    return _serializer(VIEW_SALT).dumps([view.id, view.nonce])


def view_of(session: Session, view_token: str) -> MaterialView:
    """The view a page's signed id names; `LinkRefused` for a forged or unknown one."""
    try:
        raw: Any = _serializer(VIEW_SALT).loads(view_token)
        view_id, nonce = int(raw[0]), str(raw[1])
    except (BadSignature, TypeError, ValueError, IndexError, KeyError) as exc:
        raise LinkRefused(VIEW_REFUSED) from exc
    view = session.get(MaterialView, view_id)
    if view is None or not secrets.compare_digest(view.nonce, nonce):
        raise LinkRefused(VIEW_REFUSED)
    return view


def beacon(session: Session, view_token: str, *, seq: int, seconds: int, final: bool = False) -> MaterialView:
    """The page reports `seconds` of visible reading in all (its `seq`-th report); `final` when it was hidden
    or closed. A `seq` already seen is refused; the time is capped by the time since the page was opened.

    One conditional UPDATE (… WHERE last_seq < seq): of two posts racing with the same number, or a later one
    overtaken by an earlier one, exactly the first to write counts — on SQLite as on PostgreSQL."""
    view = view_of(session, view_token)
    if seq <= view.last_seq:
        raise ReplayRefused(REPLAY_REFUSED)
    now = clock.now()
    possible = int((now - view.opened_at).total_seconds()) + BEACON_SLACK_SECONDS
    claimed = min(max(seconds, 0), possible)
    written = session.execute(
        update(MaterialView)
        .where(MaterialView.id == view.id, MaterialView.last_seq < seq)
        .values(
            last_seq=seq,
            last_seen_at=now,
            read_seconds=case((MaterialView.read_seconds < claimed, claimed), else_=MaterialView.read_seconds),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(written, "rowcount", 0) != 1:
        raise ReplayRefused(REPLAY_REFUSED)
    session.refresh(view)
    if final:
        finish_view(session, view)
    return view


def download(session: Session, view_token: str) -> tuple[MaterialView, Material]:
    """The reader downloads the file: event material.downloaded and the rep told, once per view."""
    view = view_of(session, view_token)
    material = session.get(Material, view.material_id)
    if material is None or material.deleted_at is not None:
        raise NotFound(MATERIAL_GONE)
    now = clock.now()
    view.last_seen_at = now
    if view.downloaded_at is None:
        view.downloaded_at = now
        ce.record_customer_event(
            session,
            customer_id=view.customer_id,
            contact_id=view.contact_id,
            kind=ce.MATERIAL_DOWNLOADED,
            occurred_at=now,
            payload=_payload(view, material),
            source=EventSource.RADAR,
            dedupe_key=f"radar:download:{view.id}",
        )
        rep = session.get(User, view.rep_id)
        if rep is not None:
            _tell(session, view, rep, f"{who_read(session, view)}下载了{titled(material.title)}", "download")
    return view, material


def finish_view(session: Session, view: MaterialView) -> bool:
    """The reading is over: event material.read with its seconds, and the rep's read summary (once)."""
    if view.read_reported_at is not None:
        return False
    now = clock.now()
    view.read_reported_at = now
    material = session.get(Material, view.material_id)
    title = material.title if material else "资料"
    ce.record_customer_event(
        session,
        customer_id=view.customer_id,
        contact_id=view.contact_id,
        kind=ce.MATERIAL_READ,
        occurred_at=view.last_seen_at,
        payload={**_payload(view, material), "seconds": view.read_seconds},
        source=EventSource.RADAR,
        dedupe_key=f"radar:read:{view.id}",
    )
    rep = session.get(User, view.rep_id)
    if rep is not None and view.read_seconds >= MIN_READ_SECONDS:
        text = f"{who_read(session, view)}读了{titled(title)}{reading_time(view.read_seconds)}"
        _tell(session, view, rep, text, "read")
    return True


def close_idle_views(session: Session, now: datetime | None = None) -> int:
    """Views silent for IDLE_SECONDS whose reading was not reported yet: report them (the clock's sweep)."""
    cutoff = (now or clock.now()) - timedelta(seconds=IDLE_SECONDS)
    idle = session.scalars(
        select(MaterialView)
        .where(MaterialView.read_reported_at.is_(None), MaterialView.last_seen_at < cutoff)
        .order_by(MaterialView.id)
        .limit(500)
        .with_for_update(skip_locked=True)
    ).all()
    for view in idle:
        finish_view(session, view)
    return len(idle)


# --- words -----------------------------------------------------------------------------------------

HONORIFICS = ("主任", "院长", "副院长", "科长", "处长", "主管", "经理", "总监", "老师", "医生", "教授", "工程师", "总")


def contact_address(contact: Contact) -> str:
    """How a rep says the contact: 「李主任」 for 李明 whose title ends in 主任; else the name as it is."""
    name = (contact.name or "").strip()
    if any(name.endswith(h) for h in HONORIFICS):
        return name
    title = (contact.title or "").strip()
    honorific = next((h for h in HONORIFICS if title.endswith(h)), None)
    if honorific and 2 <= len(name) <= 3 and all("\u4e00" <= ch <= "\u9fff" for ch in name):
        return f"{name[0]}{honorific}"
    return name or "联系人"


def who_read(session: Session, view: MaterialView) -> str:
    """「李主任（协和医院）」, or 「协和医院的联系人」 when the link named no one."""
    customer = session.get(Customer, view.customer_id)
    customer_name = customer.name if customer else "客户"
    contact = session.get(Contact, view.contact_id) if view.contact_id else None
    if contact is None:
        return f"{customer_name}的联系人"
    return f"{contact_address(contact)}（{customer_name}）"


def titled(title: str) -> str:
    """《title》, once: a library's titles may carry their brackets already (the demo's do)."""
    return f"《{title.strip().removeprefix('《').removesuffix('》')}》"


def reading_time(seconds: int) -> str:
    """「40 秒」, 「3 分钟」, 「1 小时 5 分钟」."""
    if seconds < 60:
        return f"{seconds} 秒"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, rest = divmod(minutes, 60)
    return f"{hours} 小时" + (f" {rest} 分钟" if rest else "")


def _payload(view: MaterialView, material: Material | None) -> dict[str, Any]:
    return {
        "material_id": view.material_id,
        "title": material.title if material else "",
        "rep_id": view.rep_id,
        "view_id": view.id,
    }


def _tell(session: Session, view: MaterialView, rep: User, text: str, what: str) -> None:
    """To the rep who shared the link; if they have left, to whoever owns the customer now."""
    if not rep.active or rep.deleted_at is not None:
        customer = session.get(Customer, view.customer_id)
        owner = session.get(User, customer.owner_id) if customer else None
        if owner is None or not owner.active or owner.deleted_at is not None:
            return
        rep = owner
    notify(session, TextToMember(rep.wecom_userid, text, key=f"radar:{what}:{view.id}"))


# --- asking for a link by words (the chat) -----------------------------------------------------------


def find_material(session: Session, words: str) -> Material:
    """The published material whose title holds `words` (spaces ignored): the exact title first, else the only
    one that holds them; several or none is a Chinese refusal naming what to write."""
    query = "".join(words.split())
    if not query:
        raise DomainError("请写上资料名称的关键字，例如：雷达 协和医院 李主任 白皮书")
    now = clock.now()
    candidates = [
        m
        for m in session.scalars(
            select(Material)
            .where(Material.deleted_at.is_(None), Material.published_at <= now)
            .order_by(Material.published_at.desc(), Material.id.desc())
        )
        if m.retired_at is None or m.retired_at > now
    ]
    exact = [m for m in candidates if "".join(m.title.split()) == query]
    if exact:
        return exact[0]
    found = [m for m in candidates if query in "".join(m.title.split())]
    if not found:
        raise NotFound(f"没有找到标题含「{words.strip()}」的已发布资料")
    if len(found) > 1:
        titles = "、".join(titled(m.title) for m in found[:5])
        raise DomainError(f"有 {len(found)} 份资料含「{words.strip()}」：{titles}，请写得更具体些")
    return found[0]


def contact_named(customer: Customer, word: str) -> Contact | None:
    """The customer's contact a rep means by `word`: the full name, 「李主任」, or the name without its title."""
    word = word.strip()
    if not word:
        return None
    for contact in customer.contacts:
        if contact.deleted_at is None and word in (contact.name, contact_address(contact)):
            return contact
    return None
