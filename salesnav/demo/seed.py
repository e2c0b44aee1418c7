"""Deterministic demo data: the article's company (186 staff, 53 reps) and six months of its activity.

The whole demo is first *planned* in memory — plain row dicts with explicit ids, drawn from
`random.Random(seed)` — and then written with a handful of bulk INSERTs. Planning first keeps the
cross-references exact (a stage transition always points at a real touchpoint of the same customer)
and makes seeding fast enough for `make run` on a small machine.

Every time is anchored to `clock.now()` truncated to the (UTC) day, so the demo always covers "the
last six months up to today". The article's baseline figures (28.6 visits per rep per month, 11.3 %
lead conversion, 31 % complete touchpoints, 6 min 14 s entry time, 44 % first response within 24 h)
are built in on purpose and measured back in `SeedSummary`.
"""

from __future__ import annotations

import logging
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.demo import vocab
from salesnav.handlers.stages import ensure_default_stages
from salesnav.models import (
    CaptureSource,
    ChecklistEvidence,
    ChecklistItemKind,
    CollaborationTicket,
    Contact,
    Customer,
    CustomerKind,
    DecisionRole,
    Department,
    DepartmentKind,
    Emotion,
    EnablementKind,
    EnablementRequest,
    Health,
    IncentivePoints,
    Material,
    Opportunity,
    OpportunityStatus,
    PartStatus,
    Payment,
    Receivable,
    Role,
    Stage,
    StageTransition,
    TicketPart,
    TicketStatus,
    Touchpoint,
    TouchpointType,
    User,
    touchpoint_contacts,
)
from salesnav.models import session as db

log = logging.getLogger(__name__)

DEFAULT_SEED = 20261127
WINDOW_DAYS = 180  # six 30-day months, the window every figure below is measured over
STAFF = 186
REPS = 53
TEAMS = 6
DISTRIBUTORS = 60
EMAIL_DOMAIN = "demo.salesnav.local"

# The article's baseline, built into the data on purpose.
VISITS_PER_REP_MONTH = 28.6
LEAD_CONVERSION = 0.113
EFFECTIVE_SHARE = 0.31
ENTRY_MEDIAN_SECONDS = 6 * 60 + 14
FIRST_RESPONSE_RATE = 0.44
CHECKLIST_COMPLETE = 0.70
STALE_OPEN_DEALS = 7  # open deals left without follow-up for > 72 h, so the follow-up rule finds work
INCENTIVE_POINTS = 10

BEIJING = timedelta(hours=8)
SAMPLE_TEST = "sample_test"
STAGE_PATH = ("initial_contact", "needs_confirmed", "solution_demo", SAMPLE_TEST, "negotiation", "contract_approval")

TYPE_WEIGHTS = {TouchpointType.WECHAT: 52, TouchpointType.VISIT: 24, TouchpointType.PHONE: 21, TouchpointType.EXPO: 3}
EMOTION_WEIGHTS = {Emotion.POSITIVE: 36, Emotion.NEUTRAL: 52, Emotion.RESISTANT: 12}
SOURCE_WEIGHTS = {
    CaptureSource.MINIPROGRAM: 42,
    CaptureSource.CHAT_BUTTON: 16,
    CaptureSource.CHAT_TEXT: 8,
    CaptureSource.VOICE: 8,
    CaptureSource.EXCEL_IMPORT: 22,
    CaptureSource.EXTERNAL_CONTACT: 4,
}
ROLE_WEIGHTS = {DecisionRole.USER: 32, DecisionRole.INFLUENCER: 30, DecisionRole.PURCHASER: 28, DecisionRole.VETO: 10}


class DemoSeedError(RuntimeError):
    """The demo cannot be loaded into this database (e.g. its accounts already exist)."""


@dataclass
class SeedSummary:
    """What was loaded, and the article's figures measured back from the generated data."""

    seed: int
    window_start: datetime
    window_end: datetime
    users: int = 0
    reps: int = 0
    departments: int = 0
    customers: int = 0
    contacts: int = 0
    touchpoints: int = 0
    opportunities: int = 0
    won: int = 0
    lost: int = 0
    stage_transitions: int = 0
    tickets: int = 0
    receivables: int = 0
    payments: int = 0
    materials: int = 0
    visits_per_rep_month: float = 0.0
    lead_conversion: float = 0.0
    effective_share: float = 0.0
    entry_median_seconds: float = 0.0
    first_response_rate: float = 0.0
    checklist_compliance: float = 0.0
    overdue_open_deals: int = 0
    late_payers: int = 0  # customers whose 12-month on-time payment rate is below 85 %
    elapsed_seconds: float = 0.0

    def describe(self) -> str:
        minutes, seconds = divmod(round(self.entry_median_seconds), 60)
        return "\n".join(
            [
                f"演示数据已载入：员工 {self.users} 人（销售 {self.reps} 人），部门 {self.departments} 个",
                f"客户 {self.customers} 家、联系人 {self.contacts} 位；近六个月触点 {self.touchpoints} 条",
                f"商机 {self.opportunities} 个（赢单 {self.won}，输单 {self.lost}），协同单 {self.tickets} 张，"
                f"回款计划 {self.receivables} 笔，素材 {self.materials} 份",
                f"人均月拜访量 {self.visits_per_rep_month:.1f} 次，线索转化率 {self.lead_conversion:.1%}，"
                f"触点记录完整率 {self.effective_share:.0%}，平均录入时长 {minutes} 分 {seconds} 秒",
                f"协同单24小时首次响应达标率 {self.first_response_rate:.0%}，"
                f"过程合规率 {self.checklist_compliance:.0%}，"
                f"超72小时未跟进商机 {self.overdue_open_deals} 个，付款准时率低于85%的客户 {self.late_payers} 家",
                f"（随机种子 {self.seed}，用时 {self.elapsed_seconds:.1f} 秒）",
            ]
        )


# ---------------------------------------------------------------------------------------------------------
# Public API


def seed(seed: int = DEFAULT_SEED) -> SeedSummary:
    """Write the demo into the configured database (one transaction)."""
    with db.transaction() as session:
        return seed_into(session, seed)


def seed_if_empty(seed: int = DEFAULT_SEED) -> SeedSummary | None:
    """Seed only a database without users (a fresh install); otherwise do nothing and return None."""
    with db.transaction() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return None
        return seed_into(session, seed)


def seed_into(session: Session, seed: int = DEFAULT_SEED) -> SeedSummary:
    """Plan the demo and bulk-insert it through `session`; the caller commits."""
    started = time.perf_counter()
    taken = session.scalars(select(User.wecom_userid).where(User.wecom_userid.in_(["dir01", "rep01", "admin"])))
    if clash := sorted(taken):
        raise DemoSeedError(f"数据库里已有演示账号（{'、'.join(clash)}），请使用空数据库载入演示数据")
    stages = ensure_default_stages(session)
    now = clock.now()
    day0 = now.replace(hour=0, minute=0, second=0, microsecond=0)
    plan = DemoPlan(random.Random(seed), day0, now, stages, _id_bases(session))
    plan.build()
    _write(session, plan)
    summary = plan.summary(seed)
    summary.elapsed_seconds = time.perf_counter() - started
    log.info(
        "demo seeded in %.1f s: %d touchpoints, %d opportunities",
        summary.elapsed_seconds,
        summary.touchpoints,
        summary.opportunities,
    )
    return summary


# ---------------------------------------------------------------------------------------------------------
# Planning


@dataclass
class _Cust:
    id: int
    name: str
    kind: CustomerKind
    grade: str | None
    region: str
    owner_id: int
    contacts: list[tuple[int, str, str]] = field(default_factory=list)  # id, display name, title
    deals: list[_Deal] = field(default_factory=list)
    touches: list[_Touch] = field(default_factory=list)
    punctuality: float = 1.0
    lateness: float = 0.0  # accumulated share of late instalments not yet "spent"


@dataclass
class _Touch:
    id: int
    cust: _Cust
    occurred_at: datetime
    opportunity_id: int | None = None
    emotion: Emotion = Emotion.NEUTRAL


@dataclass
class _Deal:
    id: int
    cust: _Cust
    product: str
    amount_yuan: int
    path: list[str]  # stage codes entered, creation first
    status: OpportunityStatus
    fresh: bool = False  # open and followed up yesterday
    stale: bool = False  # open and not followed up for more than 72 h
    indices: list[int] = field(default_factory=list)  # customer touch index of each transition
    last_index: int = -1
    transition_times: list[datetime] = field(default_factory=list)


class _Ids:
    """Explicit ids, continuing after whatever the tables already hold."""

    def __init__(self, bases: dict[str, int]) -> None:
        self._next = dict(bases)

    def __call__(self, table: str) -> int:
        self._next[table] = self._next.get(table, 0) + 1
        return self._next[table]


class DemoPlan:
    """The whole demo as row dicts per table, in insertion order."""

    def __init__(
        self, rng: random.Random, day0: datetime, now: datetime, stages: list[Stage], id_bases: dict[str, int]
    ) -> None:
        self.rng, self.day0, self.now = rng, day0, now
        self.window_start = day0 - timedelta(days=WINDOW_DAYS)
        self.stage_ids = {s.code: s.id for s in stages}
        self.checklists = {s.code: [(i.id, i.kind) for i in s.checklist if i.required] for s in stages}
        self.ids = _Ids(id_bases)
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.updates: dict[str, list[dict[str, Any]]] = defaultdict(list)  # circular references, set later
        self.reps: list[dict[str, Any]] = []
        self.manager_of: dict[int, int] = {}
        self.dept_by_kind: dict[DepartmentKind, int] = {}
        self.dept_heads: dict[DepartmentKind, int] = {}
        self.custs: list[_Cust] = []
        self.deals: list[_Deal] = []
        self.used_names: set[str] = set()
        self.used_phones: set[str] = set()
        self.entry_seconds: list[int] = []
        self.first_response_ok = 0
        self.ticket_parts = 0

    def build(self) -> None:
        self._org()
        self._customers()
        self._deals()
        self._touchpoints()
        self._opportunities()
        self._collaboration()
        self._finance()
        self._materials()

    # -- org ---------------------------------------------------------------------------------------------

    def _person_name(self) -> str:
        while True:
            name = self.rng.choice(vocab.SURNAMES) + self.rng.choice(vocab.GIVEN_NAMES)
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def _mobile(self) -> str:
        while True:
            number = f"+86{self.rng.choice(vocab.MOBILE_PREFIXES)}{self.rng.randrange(10**8):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def _department(self, name: str, kind: DepartmentKind, parent_id: int | None = None) -> int:
        dept_id = self.ids("departments")
        self.rows["departments"].append(
            {"id": dept_id, "wecom_id": dept_id, "name": name, "kind": kind, "parent_id": parent_id, "head_id": None}
        )
        return dept_id

    def _user(self, userid: str, role: Role, dept_id: int, manager_id: int | None = None) -> int:
        user_id = self.ids("users")
        joined = self.window_start - timedelta(days=self.rng.randint(30, 2000))
        self.rows["users"].append(
            {
                "id": user_id,
                "wecom_userid": userid,
                "name": self._person_name(),
                "role": role,
                "department_id": dept_id,
                "manager_id": manager_id,
                "email": f"{userid}@{EMAIL_DOMAIN}",
                "mobile": self._mobile(),
                "active": True,
                "created_at": joined,
                "updated_at": joined,
            }
        )
        return user_id

    def _head(self, dept_id: int, user_id: int) -> None:
        self.updates["departments"].append({"id": dept_id, "head_id": user_id})

    def _org(self) -> None:
        sales = self._department("销售部", DepartmentKind.SALES)
        director = self._user("dir01", Role.DIRECTOR, sales)
        self._head(sales, director)
        team_sizes = [REPS // TEAMS + (1 if t < REPS % TEAMS else 0) for t in range(TEAMS)]
        rep_no = 0
        for team, size in enumerate(team_sizes, start=1):
            team_dept = self._department(f"销售{'一二三四五六七八九'[team - 1]}组", DepartmentKind.SALES, sales)
            manager = self._user(f"mgr{team:02d}", Role.MANAGER, team_dept, director)
            self._head(team_dept, manager)
            for _ in range(size):
                rep_no += 1
                rep_id = self._user(f"rep{rep_no:02d}", Role.REP, team_dept, manager)
                self.manager_of[rep_id] = manager
                self.reps.append({"id": rep_id, "team": team, "manager_id": manager})
        for kind, name, prefix, size in (
            (DepartmentKind.MARKETING, "市场部", "mkt", 8),
            (DepartmentKind.DELIVERY, "交付部", "dlv", 10),
            (DepartmentKind.FINANCE, "财务部", "fin", 6),
        ):
            dept = self._department(name, kind)
            self.dept_by_kind[kind] = dept
            head = self._user(f"{prefix}01", Role.DEPT_HEAD, dept)
            self.dept_heads[kind] = head
            self._head(dept, head)
            for n in range(2, size + 1):
                self._user(f"{prefix}{n:02d}", Role.STAFF, dept, head)
        others = [self._department(name, DepartmentKind.OTHER) for name in ("研发部", "生产部", "质量部", "行政部")]
        self._user("admin", Role.ADMIN, others[-1])
        remaining = STAFF - len(self.rows["users"])
        shares = [0.40, 0.36, 0.12, 0.12]
        sizes = [round(remaining * s) for s in shares]
        sizes[-1] = remaining - sum(sizes[:-1])
        serial = 0
        for dept, size in zip(others, sizes, strict=True):
            head = None
            for _ in range(size):
                serial += 1
                user_id = self._user(f"staff{serial:03d}", Role.STAFF, dept, head)
                if head is None:
                    head = user_id
                    self._head(dept, head)

    # -- customers ---------------------------------------------------------------------------------------

    def _hospital_names(self) -> list[tuple[str, str, str]]:
        """(name, grade, region) for every hospital, unique names."""
        result = []
        for region, (count, cities) in vocab.REGIONS.items():
            if region == "上海":
                options = list(vocab.SHANGHAI_CITYWIDE) + [
                    (pattern.format(city=city), grades)
                    for city in cities
                    for pattern, grades in vocab.SHANGHAI_HOSPITALS
                ]
            else:
                options = [
                    (pattern.format(city=city), grades) for city in cities for pattern, grades in vocab.CITY_HOSPITALS
                ]
            # "X第一人民医院" and "X市第一人民医院" are the same hospital: keep one spelling per city.
            self.rng.shuffle(options)
            seen: set[str] = set()
            picked = 0
            for name, grades in options:
                key = name.replace("市第一", "第一")
                if key in seen:
                    continue
                seen.add(key)
                result.append((name, self.rng.choice(grades), region))
                picked += 1
                if picked == count:
                    break
        return result

    def _distributor_names(self) -> list[tuple[str, str]]:
        cities = [(city, region) for region, (_, cs) in vocab.REGIONS.items() if region != "上海" for city in cs]
        cities += [("上海", "上海")] * 6
        names: dict[str, str] = {}
        while len(names) < DISTRIBUTORS:
            city, region = self.rng.choice(cities)
            names.setdefault(f"{city}{self.rng.choice(vocab.DISTRIBUTOR_BRANDS)}医疗器械有限公司", region)
        return list(names.items())

    def _customers(self) -> None:
        entries: list[tuple[str, CustomerKind, str | None, str]] = [
            (name, CustomerKind.HOSPITAL, grade, region) for name, grade, region in self._hospital_names()
        ] + [(name, CustomerKind.DISTRIBUTOR, None, region) for name, region in self._distributor_names()]
        self.rng.shuffle(entries)
        for n, (name, kind, grade, region) in enumerate(entries):
            rep = self.reps[n % REPS]
            cust = _Cust(self.ids("customers"), name, kind, grade, region, rep["id"])
            self.custs.append(cust)
            tags = [grade, region] if grade else ["经销商", region, self.rng.choice(("一级代理", "二级代理"))]
            kam = None
            if grade == "三甲" and self.rng.random() < 0.35:
                tags.append("重点客户")
                kam = self._key_account_manager(rep)
            self.rows["customers"].append(
                {
                    "id": cust.id,
                    "name": name,
                    "kind": kind,
                    "grade": grade,
                    "region": region,
                    "tags": tags,
                    "owner_id": rep["id"],
                    "key_account_manager_id": kam,
                    "health": Health.GREEN,
                }
            )
            self._contacts(cust)

    def _key_account_manager(self, rep: dict[str, Any]) -> int:
        """The team's senior rep (its first) looks after big accounts; for their own, the manager does."""
        senior = next(r for r in self.reps if r["team"] == rep["team"])
        return rep["manager_id"] if senior["id"] == rep["id"] else senior["id"]

    def _contacts(self, cust: _Cust) -> None:
        titles = vocab.TITLES_BY_ROLE if cust.kind is CustomerKind.HOSPITAL else vocab.DISTRIBUTOR_TITLES
        count = self.rng.choices((2, 3, 4), (40, 40, 20))[0]
        roles = self.rng.choices(list(ROLE_WEIGHTS), list(ROLE_WEIGHTS.values()), k=count)
        for role in roles:
            contact_id = self.ids("contacts")
            name = self.rng.choice(vocab.SURNAMES) + self.rng.choice(vocab.GIVEN_NAMES)
            title = self.rng.choice(titles[role.value])
            external = f"wm{self.rng.getrandbits(120):030x}" if self.rng.random() < 0.6 else None
            self.rows["contacts"].append(
                {
                    "id": contact_id,
                    "customer_id": cust.id,
                    "name": name,
                    "title": title,
                    "phone": self._mobile(),
                    "external_userid": external,
                    "decision_role": role,
                }
            )
            cust.contacts.append((contact_id, name, title))

    # -- deals (decided before touchpoints, which they shape) -------------------------------------------

    def _deals(self) -> None:
        """Pick the converted customers (one per rep, then a few more) and the fate of each deal."""
        converted_count = round(LEAD_CONVERSION * len(self.custs))
        by_owner: dict[int, list[_Cust]] = defaultdict(list)
        for cust in self.custs:
            by_owner[cust.owner_id].append(cust)
        converted = [self.rng.choice(by_owner[rep["id"]]) for rep in self.reps]
        rest = [c for c in self.custs if c not in converted]
        converted += self.rng.sample(rest, converted_count - len(converted))
        for cust in converted:
            for product in self.rng.sample(list(vocab.PRODUCT_LINES), self.rng.choices((1, 2, 3), (50, 35, 15))[0]):
                low, high = vocab.PRODUCT_LINES[product]
                amount = round(self.rng.uniform(low, high), -3)
                path, status = self._fate()
                deal = _Deal(self.ids("opportunities"), cust, product, int(amount), path, status)
                cust.deals.append(deal)
                self.deals.append(deal)
        open_deals = [d for d in self.deals if d.status is OpportunityStatus.OPEN]
        for deal in open_deals:
            deal.fresh = True
        for deal in self.rng.sample(open_deals, min(STALE_OPEN_DEALS, len(open_deals))):
            deal.fresh, deal.stale = False, True

    def _fate(self) -> tuple[list[str], OpportunityStatus]:
        outcome = self.rng.choices(("won", "lost", "open"), (26, 20, 54))[0]
        if outcome == "won":
            return [*STAGE_PATH, "won"], OpportunityStatus.WON
        reached = self.rng.choices(range(1, 7), (25, 22, 18, 15, 12, 8))[0]
        path = list(STAGE_PATH[:reached])
        if outcome == "lost":
            return [*path, "lost"], OpportunityStatus.LOST
        return path, OpportunityStatus.OPEN

    # -- touchpoints -------------------------------------------------------------------------------------

    def _touchpoints(self) -> None:
        total = round(VISITS_PER_REP_MONTH * REPS * WINDOW_DAYS / 30)
        by_owner: dict[int, list[_Cust]] = defaultdict(list)
        for cust in self.custs:
            by_owner[cust.owner_id].append(cust)
        for rep, count in zip(self.reps, self._rep_counts(total), strict=True):
            for cust, n in self._allocate(by_owner[rep["id"]], count):
                cust.touches = [_Touch(0, cust, t) for t in self._touch_times(cust, n)]
        rows = {row["id"]: row for row in self.rows["customers"]}
        for cust in self.custs:  # ids in time order per customer, customers in id order: stable and readable
            for touch in cust.touches:
                touch.id = self.ids("touchpoints")
            # A customer card is created when the lead is first touched.
            rows[cust.id]["created_at"] = rows[cust.id]["updated_at"] = cust.touches[0].occurred_at
        self._effective_flags = self._exact_flags(sum(len(c.touches) for c in self.custs), EFFECTIVE_SHARE)

    def _rep_counts(self, total: int) -> list[int]:
        raw = [max(80.0, self.rng.gauss(total / REPS, 22)) for _ in self.reps]
        counts = [round(x * total / sum(raw)) for x in raw]
        counts[-1] += total - sum(counts)
        return counts

    def _allocate(self, custs: list[_Cust], count: int) -> list[tuple[_Cust, int]]:
        """Spread a rep's touchpoints: deals get many, a pool of cold leads only one or two."""
        counts: dict[int, int] = {}
        weights: dict[int, float] = {}
        for cust in custs:
            if cust.deals:
                counts[cust.id], weights[cust.id] = 10 * len(cust.deals), 3.0 * len(cust.deals)
            elif self.rng.random() < 0.3:
                counts[cust.id] = self.rng.choice((1, 2))  # cold lead: no weight, stays at one or two
            else:
                counts[cust.id], weights[cust.id] = 1, self.rng.uniform(0.4, 1.6)
        warm = [c for c in custs if c.id in weights]
        remaining = max(0, count - sum(counts.values()))
        for cust in self.rng.choices(warm, [weights[c.id] for c in warm], k=remaining):
            counts[cust.id] += 1
        return [(c, counts[c.id]) for c in custs]

    def _touch_times(self, cust: _Cust, n: int) -> list[datetime]:
        """Working-hour times (Beijing) spread over the window; the last ones land yesterday for fresh deals."""
        fresh = sum(1 for d in cust.deals if d.fresh)
        times = [self._random_time() for _ in range(n - fresh)]
        yesterday = self.day0 - timedelta(days=1)
        times += [yesterday + timedelta(hours=1, seconds=self.rng.randrange(9 * 3600)) for _ in range(fresh)]
        times.sort()  # the last `fresh` times are therefore all from yesterday
        for i in range(1, len(times)):  # strictly increasing, so transitions can sit between touchpoints
            if times[i] <= times[i - 1]:
                times[i] = times[i - 1] + timedelta(seconds=1)
        return times

    def _random_time(self) -> datetime:
        while True:
            day = self.rng.randrange(WINDOW_DAYS)
            moment = self.window_start + timedelta(days=day)
            if moment.weekday() < 5 or self.rng.random() < 0.2:  # reps work weekends too, less often
                break
        minute = self.rng.randint(8 * 60 + 30, 21 * 60)  # Beijing time; 21:00 Beijing is still the same UTC day
        return moment + timedelta(minutes=minute, seconds=self.rng.randrange(60)) - BEIJING

    def _exact_flags(self, n: int, share: float) -> list[bool]:
        """Exactly round(n × share) True values, shuffled: the baseline figure is hit, not approximated."""
        flags = [i < round(n * share) for i in range(n)]
        self.rng.shuffle(flags)
        return flags

    # -- opportunities -----------------------------------------------------------------------------------

    def _opportunities(self) -> None:
        for cust in self.custs:
            self._place_deals(cust)
            self._link_touches(cust)
        self._write_touchpoints()
        for deal in self.deals:
            self._write_deal(deal)
        self._write_transitions()

    def _place_deals(self, cust: _Cust) -> None:
        """Choose the touchpoint each stage change was made from (the customer's latest one at the time)."""
        if not cust.deals:
            return
        m = len(cust.touches)
        reserved: set[int] = set()
        fresh = [d for d in cust.deals if d.fresh]
        for offset, deal in enumerate(fresh, start=1):
            deal.last_index = m - offset
            reserved.add(deal.last_index)
        stale_cutoff = self.day0 - timedelta(days=3, hours=12)
        for deal in cust.deals:
            if deal.stale:
                candidates = [
                    i
                    for i, t in enumerate(cust.touches)
                    if t.occurred_at < stale_cutoff and i not in reserved and i >= len(deal.path)
                ]
                deal.last_index = candidates[-1] if candidates else len(deal.path)
                reserved.add(deal.last_index)
        # Deals with the tightest room first, so every deal finds enough touchpoints for its stage changes.
        for deal in sorted(cust.deals, key=lambda d: d.last_index if d.last_index >= 0 else m):
            limit = deal.last_index if deal.last_index >= 0 else m
            pool = [i for i in range(limit) if i not in reserved]
            deal.indices = sorted(self.rng.sample(pool, len(deal.path)))
            reserved.update(deal.indices)
            if deal.last_index < 0:  # closed: the closing stage change is its last follow-up
                deal.last_index = deal.indices[-1]

    def _link_touches(self, cust: _Cust) -> None:
        owner: dict[int, int] = {}
        for deal in cust.deals:
            for i in [*deal.indices, deal.last_index]:
                owner[i] = deal.id
        for i, touch in enumerate(cust.touches):
            if i in owner:
                touch.opportunity_id = owner[i]
                continue
            covering = [d for d in cust.deals if d.indices[0] <= i <= d.last_index]
            if covering and self.rng.random() < 0.85:
                touch.opportunity_id = self.rng.choice(covering).id

    def _write_touchpoints(self) -> None:
        flags = iter(self._effective_flags)
        for cust in self.custs:
            deal_products = [d.product for d in cust.deals]
            for touch in cust.touches:
                product = self.rng.choice(deal_products) if deal_products else self._product()
                self._touch_row(touch, product, next(flags))
        self._calibrate_entry_times()

    def _product(self) -> str:
        return self.rng.choices(list(vocab.PRODUCT_LINES), vocab.PRODUCT_WEIGHTS)[0]

    def _touch_row(self, touch: _Touch, product: str, effective: bool) -> None:
        rng, cust = self.rng, touch.cust
        tp_type = rng.choices(list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values()))[0]
        touch.emotion = rng.choices(list(EMOTION_WEIGHTS), list(EMOTION_WEIGHTS.values()))[0]
        source = rng.choices(list(SOURCE_WEIGHTS), list(SOURCE_WEIGHTS.values()))[0]
        # An incomplete record lacks exactly one thing: the next action, its due time, or a participant.
        missing = None if effective else rng.choices(("action", "due", "contacts"), (50, 20, 30))[0]
        present = (
            []
            if missing == "contacts"
            else rng.sample(cust.contacts, min(len(cust.contacts), rng.choices((1, 2), (70, 30))[0]))
        )
        who = f"{present[0][2]}{present[0][1]}" if present else "相关科室"
        summary = (
            vocab.TOUCH_OPENINGS[tp_type.value].format(who=who, expo=rng.choice(vocab.EXPOS))
            + "，"
            + rng.choice(vocab.TOUCH_TOPICS).format(product=product)
            + "；"
            + rng.choice(vocab.REACTIONS[touch.emotion.value])
            + "。"
        )
        next_action = None if missing == "action" else rng.choice(vocab.NEXT_ACTIONS).format(product=product, who=who)
        due = None
        if missing not in ("action", "due"):
            day = (touch.occurred_at + BEIJING).replace(hour=0, minute=0, second=0) - BEIJING
            due = day + timedelta(days=rng.randint(1, 7), hours=rng.randint(10, 17))
        submitted, opened = self._entry_times(touch.occurred_at, source)
        self.rows["touchpoints"].append(
            {
                "id": touch.id,
                "customer_id": cust.id,
                "rep_id": cust.owner_id,
                "opportunity_id": None,
                "type": tp_type,
                "emotion": touch.emotion,
                "summary": summary,
                "next_action": next_action,
                "next_action_due": due,
                "occurred_at": touch.occurred_at,
                "source": source,
                "form_opened_at": opened,
                "submitted_at": submitted,
                "attachments": [],
                "guessed_fields": ["type", "emotion"] if source is CaptureSource.EXCEL_IMPORT else [],
                "created_at": submitted,
                "updated_at": submitted,
            }
        )
        if touch.opportunity_id is not None:
            self.updates["touchpoints"].append({"id": touch.id, "opportunity_id": touch.opportunity_id})
        self.rows["touchpoint_contacts"].extend({"touchpoint_id": touch.id, "contact_id": c[0]} for c in present)

    def _entry_times(self, occurred: datetime, source: CaptureSource) -> tuple[datetime, datetime | None]:
        """Submit time and form-open time. Excel imports have no form: they arrive days later in one batch."""
        latest = self.day0 - timedelta(minutes=5)
        if source is CaptureSource.EXCEL_IMPORT:
            return min(occurred + timedelta(days=self.rng.randint(1, 10)), latest), None
        submitted = min(occurred + timedelta(minutes=self.rng.randint(2, 180)), latest)
        seconds = max(20, round(ENTRY_MEDIAN_SECONDS * self.rng.lognormvariate(0, 0.55)))
        self.entry_seconds.append(seconds)
        return submitted, submitted - timedelta(seconds=seconds)

    def _calibrate_entry_times(self) -> None:
        """Scale entry durations so their median is exactly the article's 6 min 14 s."""
        factor = ENTRY_MEDIAN_SECONDS / statistics.median(self.entry_seconds)
        for row in self.rows["touchpoints"]:
            if row["form_opened_at"] is not None:
                seconds = (row["submitted_at"] - row["form_opened_at"]).total_seconds()
                row["form_opened_at"] = row["submitted_at"] - timedelta(seconds=round(seconds * factor))
        self.entry_seconds = [round(s * factor) for s in self.entry_seconds]

    def _write_deal(self, deal: _Deal) -> None:
        cust, touches = deal.cust, deal.cust.touches
        for i in deal.indices:
            # Made right after its touchpoint and before the customer's next one, as the handler requires.
            delay = timedelta(minutes=self.rng.randint(3, 40))
            if i + 1 < len(touches):
                delay = min(delay, (touches[i + 1].occurred_at - touches[i].occurred_at) / 2)
            deal.transition_times.append(touches[i].occurred_at + delay)
        last = touches[deal.last_index]
        closed = deal.status is not OpportunityStatus.OPEN
        suffix = "年度维保项目" if deal.product == "维保服务" else self.rng.choice(vocab.DEAL_SUFFIXES)
        self.rows["opportunities"].append(
            {
                "id": deal.id,
                "customer_id": cust.id,
                "owner_id": cust.owner_id,
                "title": f"{cust.name}{deal.product}{suffix}",
                "product_line": deal.product,
                "expected_amount_fen": deal.amount_yuan * 100,
                "stage_id": self.stage_ids[deal.path[-1]],
                "status": deal.status,
                "last_touchpoint_id": last.id,
                "last_follow_up_at": last.occurred_at,
                "stage_entered_at": deal.transition_times[-1],
                "closed_at": deal.transition_times[-1] if closed else None,
                "approval_frozen": False,
                "approval_frozen_reason": None,
                "created_at": deal.transition_times[0],
                "updated_at": max(deal.transition_times[-1], last.occurred_at),
            }
        )

    def _write_transitions(self) -> None:
        """Stage history; exactly 30 % of the changes were pushed through by a manager over a missing checklist."""
        all_changes = [(deal, n) for deal in self.deals for n in range(len(deal.path))]
        with_checklist = [(d, n) for d, n in all_changes if self.checklists[d.path[n]]]
        incomplete_count = min(len(with_checklist), round((1 - CHECKLIST_COMPLETE) * len(all_changes)))
        incomplete = {(d.id, n) for d, n in self.rng.sample(with_checklist, incomplete_count)}
        for deal, n in all_changes:
            code, moment = deal.path[n], deal.transition_times[n]
            complete = (deal.id, n) not in incomplete
            rep_id = deal.cust.owner_id
            self.rows["stage_transitions"].append(
                {
                    "id": self.ids("stage_transitions"),
                    "opportunity_id": deal.id,
                    "from_stage_id": self.stage_ids[deal.path[n - 1]] if n else None,
                    "to_stage_id": self.stage_ids[code],
                    "actor_id": rep_id if complete else self.manager_of[rep_id],
                    "touchpoint_id": deal.cust.touches[deal.indices[n]].id,
                    "occurred_at": moment,
                    "checklist_complete": complete,
                    "override_reason": None if complete else self.rng.choice(vocab.OVERRIDE_REASONS),
                }
            )
            self._evidence(deal, code, moment, complete)

    def _evidence(self, deal: _Deal, code: str, moment: datetime, complete: bool) -> None:
        items = self.checklists[code]
        provided = items if complete else self.rng.sample(items, self.rng.randrange(len(items)))
        for item_id, kind in provided:
            note = None
            if kind is ChecklistItemKind.TEXT:
                note = self.rng.choice(vocab.LOST_REASONS) if code == "lost" else "已与客户确认，详见触点纪要"
            at = moment - timedelta(minutes=self.rng.randint(1, 120))
            self.rows["checklist_evidence"].append(
                {
                    "id": self.ids("checklist_evidence"),
                    "opportunity_id": deal.id,
                    "checklist_item_id": item_id,
                    "text": note,
                    "attachment_id": None,
                    "checked": kind is not ChecklistItemKind.TEXT,
                    "provided_by_id": deal.cust.owner_id,
                    "provided_at": at,
                    "created_at": at,
                    "updated_at": at,
                }
            )

    # -- collaboration -----------------------------------------------------------------------------------

    def _collaboration(self) -> None:
        sampled = [d for d in self.deals if SAMPLE_TEST in d.path]
        parts = [(d.id, kind) for d in sampled for kind in (DepartmentKind.MARKETING, DepartmentKind.DELIVERY)]
        on_time = set(self._pick(parts, FIRST_RESPONSE_RATE))
        self.ticket_parts = len(parts)
        for deal in sampled:
            self._ticket(deal, on_time)

    def _pick(self, items: list[Any], share: float) -> list[Any]:
        return [item for item, flag in zip(items, self._exact_flags(len(items), share), strict=True) if flag]

    def _ticket(self, deal: _Deal, on_time: set[tuple[int, DepartmentKind]]) -> None:
        opened = deal.transition_times[deal.path.index(SAMPLE_TEST)]
        ticket_id = self.ids("collaboration_tickets")
        closes = []
        for kind, request in (
            (DepartmentKind.MARKETING, "提供竞品对比材料"),
            (DepartmentKind.DELIVERY, "确认排期并标注风险点"),
        ):
            part_id = self.ids("ticket_parts")
            row = self._part(part_id, ticket_id, kind, request, opened, (deal.id, kind) in on_time)
            self.rows["ticket_parts"].append(row)
            closes.append(row["closed_at"])
            won_at = deal.transition_times[-1] if deal.status is OpportunityStatus.WON else None
            if won_at and row["closed_at"] and row["closed_at"] < won_at:
                self.rows["incentive_points"].append(
                    {
                        "id": self.ids("incentive_points"),
                        "department_id": self.dept_by_kind[kind],
                        "ticket_part_id": part_id,
                        "opportunity_id": deal.id,
                        "points": INCENTIVE_POINTS,
                        "awarded_at": won_at,
                    }
                )
        closed_at = max(c for c in closes if c) if all(closes) else None
        self.rows["collaboration_tickets"].append(
            {
                "id": ticket_id,
                "opportunity_id": deal.id,
                "opened_by_id": deal.cust.owner_id,
                "reason": "商机进入样品测试",
                "status": TicketStatus.CLOSED if closed_at else TicketStatus.OPEN,
                "opened_at": opened,
                "closed_at": closed_at,
                "created_at": opened,
                "updated_at": closed_at or opened,
            }
        )
        if self.rng.random() < 0.35:
            kind = self.rng.choice(list(EnablementKind))
            asked = opened + timedelta(hours=self.rng.randint(1, 6))
            fulfilled = asked + timedelta(days=self.rng.randint(1, 6))
            self.rows["enablement_requests"].append(
                {
                    "id": self.ids("enablement_requests"),
                    "ticket_id": ticket_id,
                    "kind": kind,
                    "note": vocab.ENABLEMENT_NOTES[kind.value],
                    "requested_by_id": deal.cust.owner_id,
                    "fulfilled_at": fulfilled if fulfilled < self.day0 else None,
                    "created_at": asked,
                    "updated_at": asked,
                }
            )

    def _part(
        self, part_id: int, ticket_id: int, kind: DepartmentKind, request: str, opened: datetime, on_time: bool
    ) -> dict[str, Any]:
        """A department's part: answered validly within 24 h, answered but not validly, or answered late."""
        hours = self.rng.uniform
        if on_time:
            first = valid = opened + timedelta(hours=hours(1, 23.5))
        elif self.rng.random() < 0.35:  # a quick reply without the material / schedule, the real one later
            first, valid = opened + timedelta(hours=hours(2, 20)), opened + timedelta(hours=hours(26, 80))
        else:
            first = valid = opened + timedelta(hours=hours(25, 96))
        horizon = self.day0 - timedelta(minutes=1)  # nothing may be answered in the future
        first = first if first < horizon else None
        valid = valid if first and valid < horizon else None
        if valid:
            self.first_response_ok += on_time
        marketing = kind is DepartmentKind.MARKETING
        status = PartStatus.CLOSED if valid else (PartStatus.ANSWERED if first else PartStatus.OPEN)
        return {
            "id": part_id,
            "ticket_id": ticket_id,
            "department_id": self.dept_by_kind[kind],
            "request": request,
            "status": status,
            "sla_hours": 24,
            "due_at": opened + timedelta(hours=24),
            "first_response_at": first,
            "first_valid_response_at": valid,
            "closed_at": valid,
            "response_text": (
                ("已上传竞品对比材料" if marketing else "已确认排期，风险点见备注")
                if valid
                else ("已收到，材料整理中" if first else None)
            ),
            "attachment_ids": [],
            "schedule_date": valid + timedelta(days=self.rng.randint(3, 14)) if valid and not marketing else None,
            "risks": "装机场地需提前改造供电" if valid and not marketing and self.rng.random() < 0.5 else None,
            "valid_until": valid + timedelta(days=90) if valid else None,
            "responder_id": self.dept_heads[kind] if first else None,
            "created_at": opened,
            "updated_at": valid or first or opened,
        }

    # -- finance -----------------------------------------------------------------------------------------

    def _finance(self) -> None:
        """Monthly instalments: one plan per won deal, plus an older contract for established customers."""
        for cust in self.custs:
            roll = self.rng.random()
            cust.punctuality = (
                self.rng.uniform(0.94, 1.0)
                if roll < 0.88
                else self.rng.uniform(0.86, 0.93)
                if roll < 0.96
                else self.rng.uniform(0.5, 0.8)
            )
            cust.lateness = self.rng.uniform(0, 0.5)
        # Big open deals about to reach 合同审批 get poor payers, so the credit check has something to stop.
        big = [
            d
            for d in self.deals
            if d.status is OpportunityStatus.OPEN
            and d.amount_yuan > 500_000
            and d.path[-1] in ("sample_test", "negotiation")
        ]
        for deal in big[:3]:
            deal.cust.punctuality = self.rng.uniform(0.5, 0.75)
        for deal in self.deals:
            if deal.status is OpportunityStatus.WON:
                self._instalments(deal.cust, deal.id, deal.amount_yuan, deal.transition_times[-1].date())
        established = [
            c for c in self.custs if c.deals or c.grade in ("三甲", "三乙") or c.kind is CustomerKind.DISTRIBUTOR
        ]
        for cust in established:
            start = self.day0.date() - timedelta(days=self.rng.randint(200, 540))
            self._instalments(cust, None, int(round(self.rng.uniform(150_000, 2_500_000), -3)), start)

    def _instalments(self, cust: _Cust, deal_id: int | None, amount_yuan: int, signed: date) -> None:
        total_fen = amount_yuan * 100
        share = total_fen // 12
        for month in range(1, 13):
            due = _add_months(signed, month)
            receivable_id = self.ids("receivables")
            amount = share if month < 12 else total_fen - share * 11
            self.rows["receivables"].append(
                {
                    "id": receivable_id,
                    "customer_id": cust.id,
                    "opportunity_id": deal_id,
                    "invoice_no": f"INV{due:%Y%m}{receivable_id:05d}",
                    "amount_fen": amount,
                    "due_date": due,
                }
            )
            if due >= self.day0.date():
                continue
            # Error diffusion rather than a coin per instalment: a 95 % payer is late once in twenty, not
            # "by luck" twice in the six instalments due so far.
            cust.lateness += 1 - cust.punctuality
            if cust.lateness < 1:
                paid_on = due - timedelta(days=self.rng.randint(0, 10))
            else:
                cust.lateness -= 1
                paid_on = due + timedelta(days=self.rng.randint(3, 60))
            paid_at = datetime(paid_on.year, paid_on.month, paid_on.day, 2, tzinfo=UTC)  # 10:00 Beijing
            if paid_at >= self.day0:
                continue  # late and still unpaid
            self.rows["payments"].append(
                {
                    "id": self.ids("payments"),
                    "receivable_id": receivable_id,
                    "amount_fen": amount,
                    "paid_at": paid_at,
                    "created_at": paid_at,
                    "updated_at": paid_at,
                }
            )

    # -- materials ---------------------------------------------------------------------------------------

    def _materials(self) -> None:
        for n, (title, product, stage, kind, tags) in enumerate(vocab.MATERIALS):
            material_id = self.ids("materials")
            published = self.window_start + timedelta(days=15 * n + self.rng.randint(0, 10), hours=2)
            self.rows["materials"].append(
                {
                    "id": material_id,
                    "title": title,
                    "description": f"{title}：市场部发布，可直接转发客户。",
                    "product_line": product,
                    "stage_code": stage,
                    "customer_kind": kind,
                    "tags": list(tags),
                    "attachment_id": None,
                    "url": f"https://{EMAIL_DOMAIN}/materials/{material_id}",
                    "published_at": published,
                    "retired_at": None,
                    "created_at": published,
                    "updated_at": published,
                }
            )

    # -- health and summary ------------------------------------------------------------------------------

    def apply_health(self) -> None:
        """Red where the health rule would fire now (3 抵触 in 7 days), yellow on repeated recent resistance."""
        week, month = self.day0 - timedelta(days=7), self.day0 - timedelta(days=30)
        rows = {row["id"]: row for row in self.rows["customers"]}
        for cust in self.custs:
            recent = [t for t in cust.touches if t.emotion is Emotion.RESISTANT and t.occurred_at >= month]
            if sum(1 for t in recent if t.occurred_at >= week) >= 3:
                rows[cust.id]["health"] = Health.RED
            elif len(recent) >= 2:
                rows[cust.id]["health"] = Health.YELLOW

    def summary(self, seed: int) -> SeedSummary:
        touches = self.rows["touchpoints"]
        effective = sum(1 for t in self._effective_flags if t)
        touched = [c for c in self.custs if c.touches]
        transitions = self.rows["stage_transitions"]
        overdue_before = self.now - timedelta(hours=72)
        return SeedSummary(
            seed=seed,
            window_start=self.window_start,
            window_end=self.day0,
            users=len(self.rows["users"]),
            reps=len(self.reps),
            departments=len(self.rows["departments"]),
            customers=len(self.custs),
            contacts=len(self.rows["contacts"]),
            touchpoints=len(touches),
            opportunities=len(self.deals),
            won=sum(1 for d in self.deals if d.status is OpportunityStatus.WON),
            lost=sum(1 for d in self.deals if d.status is OpportunityStatus.LOST),
            stage_transitions=len(transitions),
            tickets=len(self.rows["collaboration_tickets"]),
            receivables=len(self.rows["receivables"]),
            payments=len(self.rows["payments"]),
            materials=len(self.rows["materials"]),
            visits_per_rep_month=len(touches) / REPS / (WINDOW_DAYS / 30),
            lead_conversion=sum(1 for c in touched if c.deals) / len(touched),
            effective_share=effective / len(touches),
            entry_median_seconds=statistics.median(self.entry_seconds),
            first_response_rate=self.first_response_ok / max(1, self.ticket_parts),
            checklist_compliance=sum(1 for t in transitions if t["checklist_complete"]) / len(transitions),
            overdue_open_deals=sum(
                1
                for r in self.rows["opportunities"]
                if r["status"] is OpportunityStatus.OPEN and r["last_follow_up_at"] < overdue_before
            ),
            late_payers=self._late_payers(),
        )

    def _late_payers(self) -> int:
        """Customers whose instalments due in the last 12 months were paid on time less than 85 % of the time."""
        since = self.day0.date() - timedelta(days=365)
        paid = {p["receivable_id"]: p["paid_at"].date() for p in self.rows["payments"]}
        due: dict[int, list[bool]] = defaultdict(list)
        for r in self.rows["receivables"]:
            if since <= r["due_date"] < self.day0.date():
                due[r["customer_id"]].append(r["id"] in paid and paid[r["id"]] <= r["due_date"])
        return sum(1 for flags in due.values() if sum(flags) / len(flags) < 0.85)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, 28))


# ---------------------------------------------------------------------------------------------------------
# Writing

# Insertion order respects foreign keys; circular ones (department heads, a touchpoint's opportunity) are
# inserted empty and filled in by `DemoPlan.updates` afterwards.
TABLES: tuple[tuple[str, Any], ...] = (
    ("departments", Department),
    ("users", User),
    ("customers", Customer),
    ("contacts", Contact),
    ("touchpoints", Touchpoint),
    ("touchpoint_contacts", touchpoint_contacts),
    ("opportunities", Opportunity),
    ("stage_transitions", StageTransition),
    ("checklist_evidence", ChecklistEvidence),
    ("collaboration_tickets", CollaborationTicket),
    ("ticket_parts", TicketPart),
    ("enablement_requests", EnablementRequest),
    ("incentive_points", IncentivePoints),
    ("receivables", Receivable),
    ("payments", Payment),
    ("materials", Material),
)
UPDATES: dict[str, Any] = {"departments": Department, "touchpoints": Touchpoint}
ID_TABLES = [name for name, target in TABLES if target is not touchpoint_contacts]


def _id_bases(session: Session) -> dict[str, int]:
    bases = {}
    for name, target in TABLES:
        if target is not touchpoint_contacts:
            bases[name] = session.scalar(select(func.coalesce(func.max(target.id), 0))) or 0
    return bases


def _write(session: Session, plan: DemoPlan) -> None:
    plan.apply_health()
    session.flush()  # the stages, before the bulk statements that reference them
    for name, target in TABLES:
        rows = plan.rows.get(name)
        if not rows:
            continue
        statement = target.insert() if target is touchpoint_contacts else insert(target)
        for chunk in _chunks(rows, 5000):
            session.execute(statement, chunk)
    for name, model in UPDATES.items():
        if plan.updates.get(name):
            session.execute(update(model), plan.updates[name])
    _advance_sequences(session)


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _advance_sequences(session: Session) -> None:
    """Explicit ids bypass PostgreSQL's sequences: move them past the demo so later inserts do not collide."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues after the largest id by itself
    for name in ID_TABLES:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 - fixed table names
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
            )
        )
