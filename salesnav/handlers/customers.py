"""File a new customer (e.g. a lead met at an exhibition booth) and its contacts; find one by name.

The one customer matcher: what a person types (`name_matches`, `find_by_name`: part of the name, pinyin
initials, a fuzzy spelling) and what a sheet says (`CustomerIndex`: the same mobile phone, or the same name
once spelling differences are normalised away — branch suffixes such as （本部）, brackets, 有限公司 — across
the whole company, so that a customer another rep owns is recognised rather than filed twice).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import numpy
import phonenumbers
from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz, process
from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.records import record_event, record_events
from salesnav.handlers.scope import (
    CUSTOMER_NOT_FOUND,
    customer_for,
    customers_for,
    owned_by_visible,
    visible_owner_ids,
)
from salesnav.handlers.tags import adopt_labels
from salesnav.models import Contact, Customer, CustomerKind, DecisionRole, User, bulk

MAX_NAME = 200
NAME_MATCH_THRESHOLD = 70  # rapidfuzz WRatio, 0–100
NAME_CLEAR_LEAD = 8  # the best match must beat the next one by this much, or we ask
# Mainland mobiles that phonenumbers formats as +86 and the digits (checked against it in the tests); 179xx
# is left to phonenumbers, which reads it as a carrier prefix. The shortcut matters for imports of thousands.
_PLAIN_MOBILE = re.compile(r"1(?:[3-689]\d|7[0-8])\d{8}")
_MOBILE = re.compile(r"1[3-9]\d{9}")
# A mainland landline: 0 + a 2-3 digit area code (010, 021, 0571…) + 7-8 digits, an optional extension;
# or a 400/800 service number.
_DASHED_EXTENSION = re.compile(r"(\(?0\d{2,3}\)?[\s-]*\d{3,4}[\s-]?\d{4})[\s-]+(\d{1,6})")
_LANDLINE = re.compile(r"0(?:[12]\d|[3-9]\d{2})\d{7,8}(?:(?:转|ext|#)\d{1,6})?|[48]00\d{7}")


def normalise_phone(raw: str | None) -> str | None:
    """Store E.164 so that a search by any spelling of the number finds the contact."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if _PLAIN_MOBILE.fullmatch(raw):
        return "+86" + raw
    if raw.startswith("+86") and _PLAIN_MOBILE.fullmatch(raw[3:]):
        return raw  # already stored form (an import passes the E.164 it worked out): as phonenumbers would give
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as exc:
        raise DomainError(f"手机号「{raw}」无法识别") from exc
    if not phonenumbers.is_possible_number(number):
        raise DomainError(f"手机号「{raw}」位数不对")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_FLOAT_TAIL = re.compile(r"\.0$")
_SPACING = re.compile(r"[\s\-()]")
_COUNTRY_CODE = re.compile(r"^(?:\+?86)(?=1\d{10}$|0?[1-9]\d{8,10}$)")


def mainland_phone(raw: str | None) -> str | None:
    """E.164 of a mainland mobile (11 digits from 13x to 19x) or landline (area code and number, e.g.
    0571-88886666), however it is spaced or prefixed (+86); None for anything else — a 10-digit number
    is no mobile, whatever phonenumbers would accept."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    text = _FLOAT_TAIL.sub("", text)  # 13812345678.0: a number Excel kept as a float, read as text
    extension = _DASHED_EXTENSION.fullmatch(text)  # 0571-88886666-123: the last group is the extension
    if extension:
        text = f"{extension.group(1)}转{extension.group(2)}"
    text = _SPACING.sub("", text)
    text = _COUNTRY_CODE.sub("", text)
    if _MOBILE.fullmatch(text):
        return "+86" + text
    if re.fullmatch(r"[1-9]\d{8,10}", text) and not text.startswith("1"):
        text = "0" + text  # +86 571 8888 6666: the trunk 0 dropped
    match = _LANDLINE.fullmatch(text)
    if match is None:
        return None
    if text.startswith(("400", "800")):
        return "+86" + text
    try:
        parsed = phonenumbers.parse(re.sub(r"(?:转|ext|#)\d*$", "", text), "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def create_customer(
    session: Session,
    actor: User,
    *,
    name: str,
    kind: CustomerKind | str = CustomerKind.HOSPITAL,
    grade: str | None = None,
    region: str | None = None,
    tags: list[str] | None = None,
) -> Customer:
    """The new customer belongs to the rep who files it; the same rep filing the same name gets the existing one."""
    customer = Customer(**_customer_row(actor, name=name, kind=kind, grade=grade, region=region))
    existing = session.scalars(
        select(Customer).where(
            Customer.owner_id == actor.id, Customer.name == customer.name, Customer.deleted_at.is_(None)
        )
    ).first()
    if existing is not None:
        return existing
    session.add(customer)
    session.flush()
    record_event(session, "customer.created", "customer", customer.id, actor, name=customer.name)
    if tags:
        adopt_labels(session, actor, customer.id, tags)
    return customer


def _customer_row(
    actor: User,
    *,
    name: str,
    kind: CustomerKind | str = CustomerKind.HOSPITAL,
    grade: str | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """The checks and the column values of a new customer: shared by one-by-one and bulk filing."""
    name = (name or "").strip()
    if not name:
        raise DomainError("请填写客户名称")
    if len(name) > MAX_NAME:
        raise DomainError(f"客户名称过长（最多 {MAX_NAME} 字）")
    member = kind if isinstance(kind, CustomerKind) else CustomerKind.from_label(str(kind))
    if member is None:
        raise DomainError("客户类型无效，请选择医院、经销商或其他")
    return {
        "name": name,
        "kind": member,
        "grade": (grade or "").strip() or None,
        "region": (region or "").strip() or None,
        "tags": [],  # kept by handlers/tags.py from the tags the customer holds
        "owner_id": actor.id,
    }


@dataclass(frozen=True)
class NewCustomer:
    name: str
    kind: CustomerKind | str = CustomerKind.HOSPITAL
    grade: str | None = None
    region: str | None = None
    tags: list[str] | None = None


class FiledCustomer(NamedTuple):
    id: int
    created: bool  # False: the rep already had a customer of that name, which is the one returned


def create_customers(session: Session, actor: User, specs: list[NewCustomer]) -> list[FiledCustomer | DomainError]:
    """`create_customer` for many at once (imports): the same checks, one query for the names the rep already
    has, the new customers written in one statement, events in bulk. Each spec gets its customer, or the
    DomainError that refused it."""
    rows: list[dict[str, Any] | DomainError] = []
    for spec in specs:
        try:
            rows.append(_customer_row(actor, name=spec.name, kind=spec.kind, grade=spec.grade, region=spec.region))
        except DomainError as exc:
            rows.append(exc)
    names = list({row["name"] for row in rows if isinstance(row, dict)})
    existing: dict[str, FiledCustomer] = {}
    if names:
        for customer_id, name in session.execute(
            select(Customer.id, Customer.name)
            .where(Customer.owner_id == actor.id, bulk.among(Customer.name, names), Customer.deleted_at.is_(None))
            .order_by(Customer.id.desc())
        ):
            existing[name] = FiledCustomer(customer_id, False)  # the oldest wins, as .first() by id would
    new: list[dict[str, Any]] = []
    seen = set(existing)
    for row in rows:
        if isinstance(row, dict) and row["name"] not in seen:  # a name twice in the batch: filed once
            seen.add(row["name"])
            new.append(row)
    for customer_id, row in zip(bulk.insert_new(session, Customer.__table__, new), new, strict=True):
        existing[row["name"]] = FiledCustomer(customer_id, True)
    record_events(session, "customer.created", "customer", [(row["id"], {"name": row["name"]}) for row in new], actor)
    labels = {spec.name.strip(): spec.tags for spec in specs if spec.tags}
    for row in new:
        if labels.get(row["name"]):
            adopt_labels(session, actor, row["id"], labels[row["name"]])
    out: list[FiledCustomer | DomainError] = []
    filed: set[str] = set()
    for row in rows:
        if isinstance(row, DomainError):
            out.append(row)
            continue
        customer = existing[row["name"]]
        out.append(customer if row["name"] not in filed else FiledCustomer(customer.id, False))
        filed.add(row["name"])
    return out


def add_contact(
    session: Session,
    actor: User,
    *,
    customer_id: int,
    name: str,
    title: str | None = None,
    phone: str | None = None,
    decision_role: DecisionRole | str | None = None,
) -> Contact:
    customer = customer_for(session, actor, customer_id)
    contact = Contact(**_contact_row(customer.id, name=name, title=title, phone=phone, decision_role=decision_role))
    session.add(contact)
    session.flush()
    record_event(session, "contact.added", "contact", contact.id, actor, customer_id=customer.id)
    return contact


def _contact_row(
    customer_id: int,
    *,
    name: str,
    title: str | None = None,
    phone: str | None = None,
    decision_role: DecisionRole | str | None = None,
) -> dict[str, Any]:
    """The checks and the column values of a new contact: shared by one-by-one and bulk filing."""
    name = (name or "").strip()
    if not name:
        raise DomainError("请填写联系人姓名")
    role = None
    if decision_role:
        role = decision_role if isinstance(decision_role, DecisionRole) else DecisionRole.from_label(str(decision_role))
        if role is None:
            raise DomainError("决策角色无效，请选择影响者、采购者、使用者或否决者")
    return {
        "customer_id": customer_id,
        "name": name[:100],
        "title": (title or "").strip()[:100] or None,
        "phone": normalise_phone(phone),
        "decision_role": role,
    }


@dataclass(frozen=True)
class NewContact:
    customer_id: int
    name: str
    title: str | None = None
    phone: str | None = None
    decision_role: DecisionRole | str | None = None


def add_contacts(session: Session, actor: User, specs: list[NewContact]) -> list[int | DomainError]:
    """`add_contact` for many at once (imports): the same checks and scope, the contacts written in one
    statement, events in bulk. Each spec gets its contact's id, or the DomainError that refused it."""
    customers = customers_for(session, actor, [spec.customer_id for spec in specs])
    rows: list[dict[str, Any] | DomainError] = []
    for spec in specs:
        if spec.customer_id not in customers:
            rows.append(NotFound(CUSTOMER_NOT_FOUND))
            continue
        try:
            rows.append(
                _contact_row(
                    spec.customer_id,
                    name=spec.name,
                    title=spec.title,
                    phone=spec.phone,
                    decision_role=spec.decision_role,
                )
            )
        except DomainError as exc:
            rows.append(exc)
    new = [row for row in rows if isinstance(row, dict)]
    bulk.insert_new(session, Contact.__table__, new)
    record_events(
        session, "contact.added", "contact", [(row["id"], {"customer_id": row["customer_id"]}) for row in new], actor
    )
    return [row["id"] if isinstance(row, dict) else row for row in rows]


@lru_cache(maxsize=20_000)
def initials(name: str) -> str:
    """人民医院 → rmyy; Latin letters and digits are kept as they are."""
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default") if p).lower()


def name_matches(session: Session, scoped: Select[Any], query: str) -> ColumnElement[bool]:
    """The customer matcher for what a person types: the name contains it, or (letters and digits) the pinyin
    initials of the name contain it (「协和」, 「rmyy」). `scoped` is the customers the person may see."""
    by_name = Customer.name.contains(query, autoescape=True)
    if not (query.isascii() and query.isalnum()):
        return by_name
    # Pinyin initials cannot be computed in SQL: match them over the (scoped) names in Python.
    names = session.execute(scoped.with_only_columns(Customer.id, Customer.name)).all()
    ids = [cid for cid, name in names if query.lower() in initials(name)]
    return or_(by_name, Customer.id.in_(ids))


def find_by_name(session: Session, actor: User, query: str) -> Customer:
    """One customer the actor may see (a rep: their own) by a few characters of its name, its pinyin initials,
    or — when neither finds one — a fuzzy spelling.

    A Chinese DomainError when none fits, or when several fit about equally well (they are listed).
    """
    query = (query or "").strip()
    scoped = select(Customer).where(Customer.deleted_at.is_(None), owned_by_visible(session, actor, Customer.owner_id))
    customers = {c.id: c for c in session.scalars(scoped)}
    if not customers:
        raise DomainError("您名下还没有客户。添加客户的企业微信后会自动建档。")
    exact = [c for c in customers.values() if c.name == query]
    if len(exact) == 1:
        return exact[0]
    key = normalise_name(query)  # 「XX医院本部」 or 「XX有限公司」 for the rep's 「XX医院」, 「XX」
    same = [c for c in customers.values() if key and normalise_name(c.name) == key]
    if len(same) == 1:
        return same[0]
    found = list(session.scalars(scoped.where(name_matches(session, scoped, query)).order_by(Customer.name)))
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        listed = "、".join(c.name for c in found[:5]) + ("等" if len(found) > 5 else "")
        raise DomainError(f"「{query}」对应多个客户：{listed}。请写得更完整一些。")
    names = {cid: c.name for cid, c in customers.items()}
    matches = process.extract(query, names, scorer=fuzz.WRatio, limit=5, score_cutoff=NAME_MATCH_THRESHOLD)
    if not matches:
        raise NotFound(f"没有找到客户「{query}」。可以写客户名称中的几个字或拼音首字母，例如「人民」「rmyy」。")
    if len(matches) == 1 or matches[0][1] - matches[1][1] >= NAME_CLEAR_LEAD:
        return customers[matches[0][2]]
    listed = "、".join(name for name, _score, _cid in matches)
    raise DomainError(f"「{query}」对应多个客户：{listed}。请写得更完整一些。")


_LEGAL_SUFFIXES = re.compile(r"(股份有限公司|有限责任公司|集团有限公司|有限公司|集团公司|总公司|公司|集团|股份|有限)$")
_BRANCH = r"本部|总部|总院|院本部|主院区|本院"
_BRANCH_BRACKETED = re.compile(rf"[(\[【〔]\s*(?:{_BRANCH}|分院)\s*[)\]】〕]")
_BRANCH_TAIL = re.compile(rf"(?<=院)(?:{_BRANCH})$")
_NAME_NOISE = re.compile(r"[\s·•\-_—,，.。'\"“”‘’]")
_BRACKETS = re.compile(r"[()\[\]{}【】〔〕<>《》「」]")


@lru_cache(maxsize=200_000)
def normalise_name(name: str) -> str:
    """The name with what differs between two spellings of one customer taken out: full/half width, case,
    spaces and punctuation, a branch suffix (「XX医院（本部）」, 「XX医院（分院）」, 「XX医院总院」 ≡ 「XX医院」),
    brackets around a campus (协和医院(东院) ≡ 协和医院东院), 院区 → 院, the two ways of writing some
    hospitals (「XX中医医院」 ≡ 「XX中医院」, 「XX妇幼保健医院」 ≡ 「XX妇幼保健院」), and legal suffixes
    (有限公司, 有限责任公司…)."""
    text = unicodedata.normalize("NFKC", name or "").lower()  # full width → half width: （）→ ()
    text = _BRANCH_BRACKETED.sub("", text)
    text = _BRACKETS.sub("", _NAME_NOISE.sub("", text))
    text = text.replace("院区", "院").replace("分部", "").replace("中医医院", "中医院").replace("保健医院", "保健院")
    text = _BRANCH_TAIL.sub("", text)
    previous = None
    while previous != text:
        previous, text = text, _LEGAL_SUFFIXES.sub("", text)
    return text


# The place a customer's name starts with: 常州市…, 江苏省…, 泗阳县…, or a city named …州 (常州第一人民医院).
_PLACE = re.compile(r"^(?:(.{2,3}?)(?:省|市|县|区)|(.{1,2}州))")


def place_of(name: str) -> str | None:
    found = _PLACE.match(unicodedata.normalize("NFKC", name or "").strip())
    return (found.group(1) or found.group(2)) if found else None


def in_other_places(a: str, b: str) -> bool:
    """Two names that start with different places (常州市第一人民医院, 杭州市第一人民医院): never one customer,
    however alike the rest reads; a name without a place is not told apart by this."""
    here, there = place_of(a), place_of(b)
    return bool(here and there and here != there)


@dataclass
class Candidate:
    customer_id: int
    name: str
    score: float
    owner_id: int = 0
    owner_name: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "customer_id": self.customer_id,
            "name": self.name,
            "score": round(self.score, 1),
            "owner": self.owner_name,
        }


class NameSet:
    """Normalised names and, for fuzzy lookups, each character's names: the candidates that can score
    `near_score` or more against a name are found without comparing it with every one."""

    def __init__(self, keys: list[str], near_score: float) -> None:
        self.keys, self.near_score = keys, near_score
        self._by_char: dict[str, list[int]] | None = None
        self._counts: defaultdict[str, int] = defaultdict(int)  # each character → how many names hold it

    def candidates(self, key: str) -> list[int] | None:
        """The customers (indexes into `keys`) that can score near_score or more against `key`, found by its
        rarest characters; None when that does not narrow them down (then every customer is compared).

        Sound, not a guess: for a ratio of at least n (0–1) the other name is at most len·(2−n)/n long, so the
        two differ by at most d = len·2(1−n)/n insertions and deletions, and at most d of the key's distinct
        characters can be missing from it — it contains at least one of any d+1 of them. The d+1 rarest are
        taken, and the customers holding any of those are the candidates."""
        n = max(self.near_score, 1.0) / 100
        distinct = set(key)
        allowed = int(len(key) * 2 * (1 - n) / n)
        if len(distinct) <= allowed:
            return None
        postings, counts = self.postings(), self._counts
        rare = sorted(distinct, key=counts.__getitem__)[: allowed + 1]  # (a C call per character, no lambda)
        if counts[rare[-1]] > len(self.keys) // 4:
            return None  # the union holds at least that many: too many, known without building it
        found: set[int] = set()
        for c in rare:
            found.update(postings.get(c, ()))
            if len(found) > len(self.keys) // 4:
                return None  # too many to be worth it: the block comparison is faster
        return sorted(found)

    def postings(self) -> dict[str, list[int]]:
        """Each character → the customers (indexes into `keys`) whose normalised name holds it."""
        if self._by_char is None:
            by_char: defaultdict[str, list[int]] = defaultdict(list)  # (setdefault would make a list per call)
            for i, key in enumerate(self.keys):
                for c in set(key):
                    by_char[c].append(i)
            self._by_char = dict(by_char)
            self._counts.update((c, len(names)) for c, names in by_char.items())
        return self._by_char

    def closest(self, key: str, limit: int = 3, *, scan_all: bool = True) -> list[tuple[int, float]]:
        """The (up to `limit`) names scoring near_score or more against `key`: (index into keys, score).
        Without `scan_all`, a name whose characters do not narrow the candidates down finds none."""
        candidates = self.candidates(key)
        if candidates is None and not scan_all:
            return []
        pool = range(len(self.keys)) if candidates is None else candidates
        found = process.extract(
            key, [self.keys[i] for i in pool], scorer=fuzz.ratio, score_cutoff=self.near_score, limit=limit
        )
        return [(pool[i], score) for _, score, i in found]


@dataclass
class CustomerMatch:
    how: str  # phone, exact, fuzzy, near_miss, new
    customer_id: int | None = None
    candidates: list[Candidate] = field(default_factory=list)
    owner_id: int | None = None  # the matched customer's owner
    owner_name: str | None = None

    @property
    def guessed(self) -> bool:
        return self.how == "fuzzy"


class CustomerIndex:
    """Every live customer of the company, indexed once (an import of thousands of rows asks it per row):
    by each contact's phone, by normalised name, and for fuzzy spellings (rapidfuzz ratio over the
    normalised names). `mine` are the owners whose customers the asker may write to; a match outside them
    is someone else's customer, to be named, never filed again."""

    def __init__(
        self, session: Session, asker: User, *, auto_score: float, near_score: float, preferred_owner: int | None = None
    ) -> None:
        self.mine = visible_owner_ids(session, asker)
        rows = session.execute(
            select(Customer.id, Customer.name, Customer.owner_id, User.name)
            .join(User, User.id == Customer.owner_id)
            .where(Customer.deleted_at.is_(None))
            .order_by(Customer.id)
        ).all()
        self.names: dict[int, str] = {}
        self.owners: dict[int, tuple[int, str]] = {}
        self.by_key: dict[str, int] = {}
        for cid, name, owner_id, owner_name in rows:
            self.names[cid] = name
            self.owners[cid] = (owner_id, owner_name)
            key = normalise_name(name)
            known = self.by_key.get(key)
            # Two customers of one normalised name: the asker's own wins, then the oldest.
            if known is None or (owner_id == preferred_owner and self.owners[known][0] != preferred_owner):
                self.by_key[key] = cid
        self.keys = list(self.by_key)
        self.by_phone: dict[str, int] = {}
        for phone, cid in session.execute(
            select(Contact.phone, Contact.customer_id)
            .join(Customer, Customer.id == Contact.customer_id)
            .where(Contact.deleted_at.is_(None), Contact.phone.is_not(None), Customer.deleted_at.is_(None))
            .order_by(Contact.id)
        ):
            if phone:  # the query keeps only contacts with one; the column's type does not say so
                self.by_phone.setdefault(phone, cid)
        self.auto_score, self.near_score = auto_score, near_score
        self._print: int | None = None
        self._names = NameSet(self.keys, near_score)

    def is_mine(self, customer_id: int) -> bool:
        return self.mine is None or self.owners[customer_id][0] in self.mine

    def _found(self, how: str, customer_id: int, candidates: list[Candidate] | None = None) -> CustomerMatch:
        owner_id, owner_name = self.owners[customer_id]
        return CustomerMatch(how, customer_id, candidates or [], owner_id, owner_name)

    def match(self, name: str, e164: str | None) -> CustomerMatch:
        """Phone first (a contact of that number: same customer), then the exact normalised name, then a
        close fuzzy one (a marked guess), else near misses for the user to decide, else new."""
        return self.match_many([(name, e164)])[0]

    def match_many(self, wanted: list[tuple[str, str | None]]) -> list[CustomerMatch]:
        """`match` for many names at once (an import): the fuzzy comparisons of all the names that match
        neither by phone nor exactly are done together (rapidfuzz cdist, in blocks), and remembered for this
        set of customers, so the confirmation and the job do not compare them again."""
        out: list[CustomerMatch | None] = []
        fuzzy: dict[str, list[tuple[int, float]]] = {}
        for name, e164 in wanted:
            key = normalise_name(name)
            if e164 and e164 in self.by_phone:
                out.append(self._found("phone", self.by_phone[e164]))
            elif not key:
                out.append(CustomerMatch("new"))
            elif key in self.by_key:
                out.append(self._found("exact", self.by_key[key]))
            else:
                fuzzy[key] = []
                out.append(None)
        self._fuzzy(fuzzy)
        matches = []
        for (name, _), found in zip(wanted, out, strict=True):
            if found is not None:
                matches.append(found)
                continue
            candidates = [
                Candidate(cid, self.names[cid], score, *self.owners[cid]) for cid, score in fuzzy[normalise_name(name)]
            ]
            if candidates and candidates[0].score >= self.auto_score:
                matches.append(self._found("fuzzy", candidates[0].customer_id, candidates))
            elif candidates:
                matches.append(CustomerMatch("near_miss", None, candidates))
            else:
                matches.append(CustomerMatch("new"))
        return matches

    def _fuzzy(self, wanted: dict[str, list[tuple[int, float]]]) -> None:
        """The (up to three) closest customers of each key, by rapidfuzz ratio at or above near_score."""
        if not wanted or not self.keys:
            return
        fingerprint = (self._fingerprint(), self.near_score)
        cache = _FUZZY_SEEN[0] if _FUZZY_SEEN and _FUZZY_SEEN[0][0] == fingerprint else (fingerprint, {})
        _FUZZY_SEEN[:] = [cache]  # one company's results at a time, swapped whole (threads share it)
        known = cache[1]
        todo = [key for key in wanted if key not in known]
        wide: list[str] = []
        for key in todo:
            candidates = self._candidates(key)
            if candidates is None:
                wide.append(key)
                continue
            found = process.extract(
                key, [self.keys[i] for i in candidates], scorer=fuzz.ratio, score_cutoff=self.near_score, limit=3
            )
            known[key] = [(self.by_key[self.keys[candidates[i]]], score) for _, score, i in found]
        for start in range(0, len(wide), FUZZY_BLOCK):
            block = wide[start : start + FUZZY_BLOCK]
            # Whole scores in a byte matrix (a quarter of float32's memory and time); the few hits are
            # scored exactly afterwards.
            scores = process.cdist(
                block, self.keys, scorer=fuzz.ratio, score_cutoff=self.near_score, dtype=numpy.uint8, workers=-1
            )
            hits = {int(r): numpy.flatnonzero(scores[r]).tolist() for r in numpy.flatnonzero(scores.max(axis=1))}
            for r, key in enumerate(block):
                exact = [(fuzz.ratio(key, self.keys[c]), c) for c in hits.get(r, [])]
                best = sorted((-score, c) for score, c in exact if score >= self.near_score)[:3]
                known[key] = [(self.by_key[self.keys[c]], -score) for score, c in best]
        for key in wanted:  # a hospital of another city is no near miss, however alike the rest reads
            wanted[key] = [(cid, score) for cid, score in known[key] if not in_other_places(key, self.names[cid])]

    def _candidates(self, key: str) -> list[int] | None:
        return self._names.candidates(key)

    def _fingerprint(self) -> int:
        if self._print is None:
            self._print = hash(tuple(self.by_key.items()))
        return self._print


FUZZY_BLOCK = 2000  # names compared at once: a 2,000 × customers matrix of float32
# The fuzzy results for the last set of customers seen, by normalised name (see match_many).
_FUZZY_SEEN: list[tuple[tuple[int, float], dict[str, list[tuple[int, float]]]]] = []


_UNSET: Any = object()


def update_contact(
    session: Session,
    actor: User,
    *,
    contact_id: int,
    name: str | None = None,
    title: str | None = _UNSET,
    phone: str | None = _UNSET,
    decision_role: DecisionRole | str | None = _UNSET,
) -> Contact:
    """Correct a contact of a customer the actor may see: a role set here is a person's word, no longer 推测."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.deleted_at is not None or not customers_for(session, actor, [contact.customer_id]):
        raise NotFound("联系人不存在或您无权查看")  # the customer's scope; what lies outside does not exist
    changed: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise DomainError("请填写联系人姓名")
        contact.name = name.strip()[:100]
        changed["name"] = contact.name
    if title is not _UNSET:
        contact.title = (title or "").strip()[:100] or None
        changed["title"] = contact.title
    if phone is not _UNSET:
        contact.phone = normalise_phone(phone)
        changed["phone"] = contact.phone
    if decision_role is not _UNSET:
        role = None
        if decision_role:
            role = (
                decision_role
                if isinstance(decision_role, DecisionRole)
                else DecisionRole.from_label(str(decision_role))
            )
            if role is None:
                raise DomainError("决策角色无效，请选择影响者、采购者、使用者或否决者")
        contact.decision_role = role
        contact.decision_role_guessed = False
        changed["decision_role"] = role.value if role else None
    session.flush()
    record_event(session, "contact.updated", "contact", contact.id, actor, customer_id=contact.customer_id, **changed)
    return contact
