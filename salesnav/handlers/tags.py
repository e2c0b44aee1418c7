"""Customer tags (issue 20): the admin's definitions, manual tags put on by people, rule tags computed by the job.

The truth is `customer_tags` (one row per customer and tag; a removed tag is retired with `removed_at` and comes
back on the same row). `customers.tags` is the denormalised current set of labels, rewritten here whenever a
customer's tags change, for lists and exports that show them without a join — nothing else writes it.

- A manual tag is put on (or taken off) by a rep or admin who may see the customer: in the chat
  (「标签 常州妇幼 三甲」), on the customer's page, in the API. A rule tag cannot be put on by hand.
- A rule tag's holders are computed by `salesnav.handlers.tag_rules.holders`; `recompute` (the job) applies them.
- Labels given when a customer is filed (the client's 展会, an import) that no tag has yet become manual tags
  (`adopt_labels`), listed on the admin page where they can be renamed or retired.

Each change records a customer event, tag.added / tag.removed with {"tag": code, "label": 中文}, for the journeys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pypinyin import Style, lazy_pinyin
from sqlalchemy import Select, Table, bindparam, insert, select, update
from sqlalchemy import update as sa_update
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import tag_rules
from salesnav.handlers.admin.guard import require_admin
from salesnav.handlers.customer_events import NewCustomerEvent, record_customer_event, record_customer_events
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.records import audit
from salesnav.handlers.scope import customer_for
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import Customer, CustomerTag, TagDefinition, TagKind, TagSource, User, bulk

ADDED, REMOVED = "tag.added", "tag.removed"
MAX_LABEL = 20
CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
RECOMPUTE_JOB = "salesnav.jobs.customer_tags:recompute"  # jobs sit above the use cases: named by path
CHUNK = 1000


class RuleTagRefused(DomainError):
    """A rule tag is the rule's: nobody puts it on or takes it off by hand (409 in the API)."""

    code = "conflict"


@dataclass(frozen=True)
class HeldTag:
    code: str
    label: str
    kind: TagKind
    source: TagSource
    applied_at: datetime


def customer_tags(session: Session, customer_id: int) -> list[HeldTag]:
    """The tags the customer holds now, by label."""
    rows = session.execute(
        select(TagDefinition, CustomerTag)
        .join(CustomerTag, CustomerTag.tag_id == TagDefinition.id)
        .where(CustomerTag.customer_id == customer_id, CustomerTag.removed_at.is_(None), TagDefinition.active)
        .order_by(TagDefinition.label)
    ).all()
    return [HeldTag(d.code, d.label, d.kind, held.source, held.applied_at) for d, held in rows]


def tags_of(session: Session, customer_ids: Iterable[int]) -> dict[int, list[HeldTag]]:
    """`customer_tags` for many customers at once (lists, the API's pages)."""
    ids = sorted(set(customer_ids))
    out: dict[int, list[HeldTag]] = {cid: [] for cid in ids}
    for start in range(0, len(ids), CHUNK):
        for d, held in session.execute(
            select(TagDefinition, CustomerTag)
            .join(CustomerTag, CustomerTag.tag_id == TagDefinition.id)
            .where(
                CustomerTag.customer_id.in_(ids[start : start + CHUNK]),
                CustomerTag.removed_at.is_(None),
                TagDefinition.active,
            )
            .order_by(TagDefinition.label)
        ):
            out[held.customer_id].append(HeldTag(d.code, d.label, d.kind, held.source, held.applied_at))
    return out


def customers_with_tag(session: Session, code: str) -> Select[int]:
    """The ids of the customers holding the tag `code` now, as a query to filter by
    (`Customer.id.in_(customers_with_tag(session, "vip"))`). An unknown code holds nobody."""
    return (
        select(CustomerTag.customer_id)
        .join(TagDefinition, TagDefinition.id == CustomerTag.tag_id)
        .where(TagDefinition.code == code, TagDefinition.active, CustomerTag.removed_at.is_(None))
    )


def definitions(session: Session, *, active_only: bool = False, kind: TagKind | None = None) -> list[TagDefinition]:
    query = select(TagDefinition).order_by(TagDefinition.kind, TagDefinition.label)
    if active_only:
        query = query.where(TagDefinition.active)
    if kind is not None:
        query = query.where(TagDefinition.kind == kind)
    return list(session.scalars(query))


def find_definition(session: Session, text: str) -> TagDefinition | None:
    """A tag by its label (三甲) or its code (sj)."""
    text = (text or "").strip()
    if not text:
        return None
    return session.scalars(
        select(TagDefinition).where((TagDefinition.label == text) | (TagDefinition.code == text.lower()))
    ).first()


def _manual_tag(session: Session, text: str) -> TagDefinition:
    tag = find_definition(session, text)
    if tag is None or not tag.active:
        manual = [d.label for d in definitions(session, active_only=True, kind=TagKind.MANUAL)]
        offer = f"可用的标签：{'、'.join(manual[:15])}。" if manual else "还没有可手动添加的标签。"
        raise NotFound(f"没有名为「{text}」的标签。{offer}新标签请管理员在后台「客户标签」中添加。")
    if tag.kind is TagKind.RULE:
        raise RuleTagRefused(f"「{tag.label}」是按规则自动计算的标签，不能手动添加或去掉。")
    return tag


def apply_tag(session: Session, actor: User, *, customer_id: int, tag: str) -> tuple[HeldTag, bool]:
    """Put a manual tag on a customer the actor may see. Returns the tag and whether it was new (a tag already
    held is left as it is)."""
    customer = customer_for(session, actor, customer_id)
    definition = _manual_tag(session, tag)
    held = _put(session, customer.id, definition, TagSource.MANUAL, actor, clock.now())
    if held is not None:
        _denormalise(session, [customer.id])
    row = _row(session, customer.id, definition.id)
    assert row is not None
    return HeldTag(definition.code, definition.label, definition.kind, row.source, row.applied_at), held is not None


def remove_tag(session: Session, actor: User, *, customer_id: int, tag: str) -> bool:
    """Take a manual tag off a customer the actor may see. Returns whether the customer held it."""
    customer = customer_for(session, actor, customer_id)
    definition = _manual_tag(session, tag)
    removed = _take_off(session, customer.id, definition, clock.now())
    if removed:
        _denormalise(session, [customer.id])
    return removed


def _row(session: Session, customer_id: int, tag_id: int) -> CustomerTag | None:
    return session.scalars(
        select(CustomerTag).where(CustomerTag.customer_id == customer_id, CustomerTag.tag_id == tag_id)
    ).first()


def _put(
    session: Session, customer_id: int, tag: TagDefinition, source: TagSource, actor: User | None, now: datetime
) -> CustomerTag | None:
    """Hold the tag (a new row, or the retired one back); None when already held."""
    row = _row(session, customer_id, tag.id)
    if row is not None and row.removed_at is None:
        return None
    if row is None:
        row = CustomerTag(customer_id=customer_id, tag_id=tag.id)
        session.add(row)
    row.source, row.applied_by_id, row.applied_at, row.removed_at = source, actor.id if actor else None, now, None
    session.flush()
    _event(session, customer_id, ADDED, tag, now)
    return row


def _take_off(session: Session, customer_id: int, tag: TagDefinition, now: datetime) -> bool:
    row = _row(session, customer_id, tag.id)
    if row is None or row.removed_at is not None:
        return False
    row.removed_at = now
    session.flush()
    _event(session, customer_id, REMOVED, tag, now)
    return True


def _event(session: Session, customer_id: int, kind: str, tag: TagDefinition, now: datetime) -> None:
    # A change is found against the stored rows, written in the same transaction: a re-run finds none. The key
    # keeps two runs at the same moment from recording one change twice.
    record_customer_event(
        session,
        customer_id=customer_id,
        kind=kind,
        occurred_at=now,
        payload={"tag": tag.code, "label": tag.label},
        dedupe_key=f"{kind}:{customer_id}:{tag.code}:{int(now.timestamp())}",
    )


def _denormalise(session: Session, customer_ids: Iterable[int]) -> None:
    """customers.tags := the labels each customer holds now (the one place that writes it)."""
    session.flush()
    held = tags_of(session, customer_ids)
    customers = Customer.__table__.c
    statement = (
        sa_update(cast(Table, Customer.__table__))
        .where(customers.id == bindparam("cid"))
        .values(tags=bindparam("labels"), updated_at=customers.updated_at)  # no change of the customer's own
    )
    rows = [{"cid": cid, "labels": [t.label for t in tags]} for cid, tags in held.items()]
    for start in range(0, len(rows), CHUNK):
        session.connection().execute(statement, rows[start : start + CHUNK])
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Customer) and obj.id in held:
            session.expire(obj, ["tags"])


def _apply_in_bulk(session: Session, tag: TagDefinition, added: list[int], removed: list[int], now: datetime) -> None:
    """The job's changes to one rule tag, a statement per thousand customers rather than per customer: retired
    holdings brought back, new ones inserted, lost ones retired; the customer events written together."""
    session.flush()
    table = CustomerTag.__table__
    for start in range(0, len(added), CHUNK):
        chunk = added[start : start + CHUNK]
        retired = set(
            session.scalars(
                select(CustomerTag.customer_id).where(CustomerTag.tag_id == tag.id, CustomerTag.customer_id.in_(chunk))
            )
        )
        if retired:
            session.execute(
                update(CustomerTag)
                .where(CustomerTag.tag_id == tag.id, CustomerTag.customer_id.in_(sorted(retired)))
                .values(source=TagSource.RULE, applied_by_id=None, applied_at=now, removed_at=None)
                .execution_options(synchronize_session=False)
            )
        new = [
            {"customer_id": cid, "tag_id": tag.id, "source": TagSource.RULE, "applied_at": now}
            for cid in chunk
            if cid not in retired
        ]
        if new:
            bulk.insert_new(session, table, new)
    for start in range(0, len(removed), CHUNK):
        session.execute(
            update(CustomerTag)
            .where(
                CustomerTag.tag_id == tag.id,
                CustomerTag.customer_id.in_(removed[start : start + CHUNK]),
                CustomerTag.removed_at.is_(None),
            )
            .values(removed_at=now)
            .execution_options(synchronize_session=False)
        )
    payload = {"tag": tag.code, "label": tag.label}
    second = int(now.timestamp())
    events = [
        NewCustomerEvent(cid, kind, payload=payload, occurred_at=now, dedupe_key=f"{kind}:{cid}:{tag.code}:{second}")
        for kind, ids in ((ADDED, added), (REMOVED, removed))
        for cid in ids
    ]
    for start in range(0, len(events), CHUNK):
        record_customer_events(session, events[start : start + CHUNK])


def recompute(session: Session, now: datetime, among: Iterable[int] | None = None) -> int:
    """Apply every active rule tag (to the customers of `among`, or all): add it to the customers its rule holds
    now, take it off those it no longer holds; take retired tags off everyone. Returns the number of changes."""
    ids = None if among is None else sorted(set(among))
    if ids is not None and not ids:
        return 0
    changed: set[int] = set()
    changes = 0
    for tag in session.scalars(select(TagDefinition).order_by(TagDefinition.id)):
        holding = select(CustomerTag.customer_id).where(CustomerTag.tag_id == tag.id, CustomerTag.removed_at.is_(None))
        held: set[int] = set()
        if ids is None:
            held = set(session.scalars(holding))
        else:
            for start in range(0, len(ids), CHUNK):
                held.update(session.scalars(holding.where(CustomerTag.customer_id.in_(ids[start : start + CHUNK]))))
        if not tag.active:
            wanted: set[int] = set()
        elif tag.kind is TagKind.RULE and tag.rule:
            wanted = tag_rules.holders(session, tag_rules.check_rule(tag.rule), now, ids)
        elif tag.kind is TagKind.RULE:
            wanted = set()
        else:
            continue  # a manual tag is people's to put on and take off
        added, removed = sorted(wanted - held), sorted(held - wanted)
        _apply_in_bulk(session, tag, added, removed, now)
        changed.update(added, removed)
        changes += len(added) + len(removed)
    if changed:
        _denormalise(session, changed)
    return changes


@dataclass(frozen=True)
class RulePreview:
    count: int
    names: list[str]
    rule_text: str


def preview(session: Session, rule: dict[str, Any] | tag_rules.TagRule, now: datetime, shown: int = 10) -> RulePreview:
    """Which customers the rule would hold today (nothing saved): the count and the first names, by name."""
    typed = tag_rules.check_rule(rule)
    ids = tag_rules.holders(session, typed, now)
    names = (
        list(
            session.scalars(
                select(Customer.name).where(Customer.id.in_(sorted(ids))).order_by(Customer.name).limit(shown)
            )
        )
        if ids
        else []
    )
    return RulePreview(len(ids), names, tag_rules.describe(typed))


def _code_for(session: Session, label: str, wanted: str | None, own_id: int | None = None) -> str:
    taken = set(session.scalars(select(TagDefinition.code).where(TagDefinition.id != (own_id or 0))))
    if wanted:
        code = wanted.strip().lower()
        if not CODE.fullmatch(code):
            raise DomainError("标签代码只能用小写字母、数字和下划线，以字母开头，最多 40 个字符")
        if code in taken:
            raise DomainError(f"标签代码「{code}」已被其他标签使用")
        return code
    letters = "".join(p[0] for p in lazy_pinyin(label, style=Style.FIRST_LETTER, errors="default") if p)
    base = re.sub(r"[^a-z0-9_]", "", letters.lower())
    base = base if base and base[0].isalpha() else f"tag{base}"
    code, n = base[:36], 2
    while code in taken:
        code, n = f"{base[:36]}{n}", n + 1
    return code


def save_definition(
    session: Session,
    actor: User,
    *,
    tag_id: int | None = None,
    label: str,
    kind: TagKind | str,
    rule: dict[str, Any] | None = None,
    code: str | None = None,
    description: str | None = None,
    active: bool = True,
) -> TagDefinition:
    """Create or change a tag definition (admins only). A rule tag needs a valid rule; the holders follow at the
    recompute queued after commit (the preview showed which customers that will be)."""
    require_admin(actor)
    label = (label or "").strip()
    if not label:
        raise DomainError("请填写标签名称")
    if len(label) > MAX_LABEL or any(ch.isspace() for ch in label):
        raise DomainError(f"标签名称最多 {MAX_LABEL} 个字，且不能有空格")
    member = kind if isinstance(kind, TagKind) else TagKind.from_label(str(kind))
    if member is None:
        raise DomainError("标签类型只能是手动标签或规则标签")
    typed = tag_rules.check_rule(rule) if member is TagKind.RULE and rule else None
    if member is TagKind.RULE and typed is None:
        raise DomainError("规则标签需要至少一个条件")
    tag = session.get(TagDefinition, tag_id) if tag_id is not None else None
    if tag_id is not None and tag is None:
        raise NotFound("标签不存在")
    same = session.scalars(select(TagDefinition).where(TagDefinition.label == label)).first()
    if same is not None and same is not tag:
        raise DomainError(f"已有名为「{label}」的标签")
    before = _snapshot(tag) if tag is not None else None
    if tag is None:
        tag = TagDefinition(code=_code_for(session, label, code), created_by_id=actor.id)
        session.add(tag)
    elif code and code.strip().lower() != tag.code:
        tag.code = _code_for(session, label, code, tag.id)
    tag.label, tag.kind, tag.active = label, member, active
    tag.rule = typed.model_dump() if typed is not None else None
    tag.description = (description or "").strip()[:200] or None
    session.flush()
    audit(session, actor, "tag_definition", tag.id, "update" if before else "create", before or {}, _snapshot(tag))
    enqueue_after_commit(session, RECOMPUTE_JOB, key=f"tags:recompute:definition:{tag.id}:{clock.now().timestamp()}")
    return tag


def _snapshot(tag: TagDefinition) -> dict[str, Any]:
    return {"code": tag.code, "label": tag.label, "kind": tag.kind.value, "rule": tag.rule, "active": tag.active}


def adopt_labels(session: Session, actor: User, customer_id: int, labels: Iterable[str]) -> None:
    """Labels given when filing a customer: each becomes a manual tag of that customer (a label no tag has yet
    becomes a new manual tag; a rule tag's label is left to its rule)."""
    now = clock.now()
    touched = False
    for raw in labels:
        label = raw.strip()[:MAX_LABEL]
        if not label:
            continue
        tag = find_definition(session, label)
        if tag is None:
            tag = TagDefinition(
                code=_code_for(session, label, None), label=label, kind=TagKind.MANUAL, created_by_id=actor.id
            )
            session.add(tag)
            session.flush()
        if tag.kind is TagKind.MANUAL and tag.active:
            touched = _put(session, customer_id, tag, TagSource.MANUAL, actor, now) is not None or touched
    if touched:
        _denormalise(session, [customer_id])


def adopt_stored_labels(session: Session) -> int:
    """Customers written in bulk with labels in customers.tags (the demo company): each label becomes a manual
    tag and each customer holds its own, as migration 0021 did for the labels found then. No customer events:
    the customers did nothing. Returns the holdings made."""
    session.flush()
    by_label = {d.label: d for d in definitions(session)}
    held = {(cid, tid) for cid, tid in session.execute(select(CustomerTag.customer_id, CustomerTag.tag_id))}
    rows: list[dict[str, Any]] = []
    now = clock.now()
    for cid, labels in session.execute(select(Customer.id, Customer.tags).where(Customer.deleted_at.is_(None))):
        for raw in labels or []:
            label = str(raw).strip()[:MAX_LABEL]
            if not label:
                continue
            if label not in by_label:
                tag = TagDefinition(code=_code_for(session, label, None), label=label, kind=TagKind.MANUAL)
                session.add(tag)
                session.flush()
                by_label[label] = tag
            key = (cid, by_label[label].id)
            if key not in held:
                held.add(key)
                rows.append({"customer_id": cid, "tag_id": key[1], "source": TagSource.MANUAL, "applied_at": now})
    for start in range(0, len(rows), 5000):
        session.execute(insert(CustomerTag), rows[start : start + 5000])
    return len(rows)


def describe_customer(session: Session, customer_id: int) -> str:
    """One line for the chat: 标签：三甲、高意向 · 生命周期：新客户试用期."""
    held = customer_tags(session, customer_id)
    stage = session.scalar(select(Customer.lifecycle_stage).where(Customer.id == customer_id))
    line = f"标签：{'、'.join(t.label for t in held) if held else '无'}"
    return line + (f" · 生命周期：{stage.label}" if stage is not None else "")


# The article's examples, ready to install from the admin page (a label already taken is left alone).
EXAMPLE_TAGS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    (
        "三甲",
        "grade_3a",
        "医院等级为三级甲等",
        {
            "match": "any",
            "conditions": [{"type": "field", "field": "grade", "op": "in", "value": ["三级甲等", "三甲"]}],
        },
    ),
    (
        "高意向",
        "high_intent",
        "近 30 天下载过资料",
        {
            "match": "all",
            "conditions": [{"type": "event", "kinds": ["material.downloaded"], "within_days": 30, "min_count": 1}],
        },
    ),
    (
        "风险",
        "at_risk",
        "健康度为红灯",
        {"match": "all", "conditions": [{"type": "field", "field": "health", "op": "eq", "value": "red"}]},
    ),
    (
        "大客户",
        "key_account",
        "累计赢单金额不少于 100 万元",
        {
            "match": "all",
            "conditions": [{"type": "field", "field": "won_total_fen", "op": "gte", "value": 1_000_000 * 100}],
        },
    ),
)


def install_example_tags(session: Session, actor: User) -> list[TagDefinition]:
    """The example rule tags whose label and code are still free (admins only); returns those written."""
    require_admin(actor)
    written = []
    for label, code, description, rule in EXAMPLE_TAGS:
        taken = session.scalars(
            select(TagDefinition.id).where((TagDefinition.label == label) | (TagDefinition.code == code))
        ).first()
        if taken is None:
            written.append(
                save_definition(
                    session, actor, label=label, kind=TagKind.RULE, rule=rule, code=code, description=description
                )
            )
    return written
