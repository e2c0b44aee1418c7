"""Is this row's customer one the owner already has? Phone first (exact, E.164), then the name.

Names are compared after normalising what differs between two spellings of the same company:
full/half width, brackets, spaces, legal suffixes (有限公司…), hospital campus words (院区). An exact
normalised match is a match; a close fuzzy score (rapidfuzz) is a match marked as a guess; a weaker
but plausible one is a near miss the user decides on; anything else is a new customer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.customers import normalise_phone as store_phone
from salesnav.handlers.errors import DomainError
from salesnav.handlers.scope import visible_owner_ids
from salesnav.models import Contact, Customer, User

_SUFFIXES = re.compile(r"(股份有限公司|有限责任公司|有限公司|集团有限公司|集团公司|总公司|公司|集团|股份)$")
_NOISE = re.compile(r"[\s·•\-_—,，.。'\"“”‘’]")
_BRACKETS = re.compile(r"[()\[\]{}【】〔〕<>《》「」]")


def normalise_name(name: str) -> str:
    text = unicodedata.normalize("NFKC", name or "").lower()  # full width → half width: （）→ ()
    text = _BRACKETS.sub("", _NOISE.sub("", text))  # 协和医院(东院) ≡ 协和医院东院
    text = text.replace("院区", "院").replace("分部", "")
    previous = None
    while previous != text:
        previous, text = text, _SUFFIXES.sub("", text)
    return text


def normalise_phone(raw: str | None) -> str | None:
    """E.164, the way contacts store phones (customers.normalise_phone); None when it is not a possible number."""
    if not raw:
        return None
    try:
        return store_phone(str(raw))
    except DomainError:
        return None


@dataclass
class Candidate:
    customer_id: int
    name: str
    score: float

    def to_json(self) -> dict[str, object]:
        return {"customer_id": self.customer_id, "name": self.name, "score": round(self.score, 1)}


@dataclass
class Match:
    how: str  # phone, exact, fuzzy, near_miss, new
    customer_id: int | None = None
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def guessed(self) -> bool:
        return self.how == "fuzzy"


class Matcher:
    """The owner's existing customers, indexed once per import (thousands of rows, one query each kind)."""

    def __init__(self, session: Session, owner: User, *, auto_score: float, near_score: float) -> None:
        owners = visible_owner_ids(session, owner)
        query = select(Customer.id, Customer.name).where(Customer.deleted_at.is_(None))
        if owners is not None:
            query = query.where(Customer.owner_id.in_(owners))
        self.names: dict[int, str] = dict(session.execute(query).all())
        self.by_key: dict[str, int] = {}
        for cid, name in self.names.items():
            self.by_key.setdefault(normalise_name(name), cid)
        self.keys = list(self.by_key)
        phones = select(Contact.phone, Contact.customer_id).where(
            Contact.deleted_at.is_(None), Contact.phone.is_not(None), Contact.customer_id.in_(list(self.names) or [0])
        )
        self.by_phone: dict[str, int] = {p: c for p, c in session.execute(phones).all() if p}
        self.auto_score, self.near_score = auto_score, near_score

    def match(self, name: str, phone: str | None) -> Match:
        e164 = normalise_phone(phone)
        if e164 and e164 in self.by_phone:
            return Match("phone", self.by_phone[e164])
        key = normalise_name(name)
        if not key:
            return Match("new")
        if key in self.by_key:
            return Match("exact", self.by_key[key])
        found = process.extract(key, self.keys, scorer=fuzz.ratio, score_cutoff=self.near_score, limit=3)
        candidates = [Candidate(self.by_key[k], self.names[self.by_key[k]], score) for k, score, _ in found]
        if candidates and candidates[0].score >= self.auto_score:
            return Match("fuzzy", candidates[0].customer_id, candidates)
        if candidates:
            return Match("near_miss", None, candidates)
        return Match("new")
