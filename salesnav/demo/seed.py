"""Deterministic demo data: the article's company (186 staff, 53 reps) and six months of its activity.

The whole demo is first *planned* in memory — plain row dicts with explicit ids, drawn from
`random.Random(seed)` — and then written with a handful of bulk INSERTs. Planning first keeps the
cross-references exact (a stage transition always points at a real touchpoint of the same customer)
and makes seeding fast enough for `make run` on a small machine.

Every time is anchored to `clock.now()` truncated to the (UTC) day. The last six months hold the full
activity; the HISTORY_DAYS before them hold only the older deals of the established accounts (their stage
changes and the touchpoints those were made from, as imported from the old CRM), because the stage
deviation metric compares a stay with similar deals closed in the 12 months before the window.

The article's baseline is built in on purpose and holds, measured with `salesnav.metrics`, over the whole six
months *and* over any 30-day window such as the Level 1 page's (shares are spread evenly in time order, see
`DemoPlan._spread`, rather than drawn once for the whole period):

- 人均月拜访量 28.6: every day of the six months is filled up to its share (weekends lighter).
- 有效触点数/销售/周 4.2: 63 % of touchpoints are effective (a next action with its due time and at least
  one customer-side contact present) — 28.6 a month is 6.7 a week, 63 % of which is 4.2.
- 触点记录完整率 31 %: a *complete record* (`salesnav.metrics.record_completeness`) is an effective
  touchpoint that also has a summary, an emotion the rep chose (not in `guessed_fields`), a known
  decision-chain role for every contact present, and — for a 面访 — at least one attachment. 31 % of the
  touchpoints are complete; the other effective ones miss exactly one of these.
- 商机阶段推进偏差率 ±38 %: each stay in a stage lasts the stage's mean × (1 ± u), u uniform around 0.38.
- 首次响应达标率 44 %: of the ticket parts opened, in time order.
- 线索转化率 11.3 %: the new leads' first touches are spaced evenly over the six months (about 55 a month);
  11.3 % of them, in time order, get an opportunity.
- 录入时长 6 min 14 s (median, per 30-day block), 过程合规率 70 %.
- Manager intervention rate: the demo raises no alerts (the rules raise them once running), so it has none.

Also on purpose: 7 open deals without follow-up for more than 72 h (the follow-up rule), poor payers behind
big deals near 合同审批 (the credit check), 12 % 抵触 signals (the health rule).
"""

from __future__ import annotations

import hashlib
import io
import logging
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.demo import vocab
from salesnav.handlers.stages import ensure_default_stages
from salesnav.models import (
    Attachment,
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
WINDOW_DAYS = 180  # six 30-day months of full activity
HISTORY_DAYS = 580  # deals of the established accounts start this long ago (closed ones feed the stage baseline)
STAFF = 186
REPS = 53
TEAMS = 6
DISTRIBUTORS = 60
ESTABLISHED = 150  # accounts known before the six months; the other customers are new leads during them
EMAIL_DOMAIN = "demo.salesnav.local"

# The article's baseline, built into the data on purpose.
VISITS_PER_REP_MONTH = 28.6
LEAD_CONVERSION = 0.113
EFFECTIVE_SHARE = 0.63  # 28.6 a month = 6.67 a week; 63 % of that is the article's 4.2 effective a week
COMPLETE_SHARE = 0.31  # 触点记录完整率
ENTRY_MEDIAN_SECONDS = 6 * 60 + 14
FIRST_RESPONSE_RATE = 0.44
CHECKLIST_COMPLETE = 0.70
STAY_SPREAD = 0.35  # mean |stay − stage mean| ÷ stage mean; the baselines' own noise adds the rest of ±38 %
STAY_SPREAD_WIDTH = 0.27  # u ~ uniform(0.08, 0.62)
STALE_OPEN_DEALS = 7  # open deals left without follow-up for > 72 h, so the follow-up rule finds work
INCENTIVE_POINTS = 10
ESTABLISHED_DEALS_PER_MONTH = 27  # plus ~6 a month from converted leads: ~20 tickets (40 parts) a month
WIN_SHARE = 0.40
LOSS_STAGE_WEIGHTS = (22, 22, 18, 16, 12, 10)  # the stage a lost deal was lost in
WEEKEND_WEIGHT = 0.4  # reps work weekends too, less

BEIJING = timedelta(hours=8)
SAMPLE_TEST = "sample_test"
STAGE_PATH = ("initial_contact", "needs_confirmed", "solution_demo", SAMPLE_TEST, "negotiation", "contract_approval")
STAGE_MEAN_DAYS = {
    "initial_contact": 10,
    "needs_confirmed": 14,
    "solution_demo": 16,
    SAMPLE_TEST: 21,
    "negotiation": 15,
    "contract_approval": 9,
}

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
# A complete record's emotion was chosen by the rep: never an Excel import, whose type and emotion are guessed.
CLEAN_SOURCE_WEIGHTS = {
    CaptureSource.MINIPROGRAM: 50,
    CaptureSource.CHAT_BUTTON: 20,
    CaptureSource.CHAT_TEXT: 10,
    CaptureSource.VOICE: 12,
    CaptureSource.EXTERNAL_CONTACT: 8,
}
GUESSED_SOURCE_WEIGHTS = {CaptureSource.EXCEL_IMPORT: 60, CaptureSource.CHAT_TEXT: 25, CaptureSource.VOICE: 15}
GUESSED_BY_SOURCE = {CaptureSource.EXCEL_IMPORT: ("type", "emotion"), CaptureSource.VOICE: ("summary",)}
ROLE_WEIGHTS = {DecisionRole.USER: 32, DecisionRole.INFLUENCER: 30, DecisionRole.PURCHASER: 28, DecisionRole.VETO: 10}
ROLELESS_SHARE = 0.35  # customers (with 3+ contacts) one of whose contacts has no known decision-chain role


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
    touchpoints: int = 0  # all of them, the older deals' history included
    touchpoints_six_months: int = 0
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
    effective_share: float = 0.0  # 有效触点 among the six months' touchpoints
    effective_per_rep_week: float = 0.0
    complete_share: float = 0.0  # 触点记录完整率 (see the module docstring)
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
                f"客户 {self.customers} 家、联系人 {self.contacts} 位；触点 {self.touchpoints} 条（近六个月 "
                f"{self.touchpoints_six_months} 条）",
                f"商机 {self.opportunities} 个（赢单 {self.won}，输单 {self.lost}），协同单 {self.tickets} 张，"
                f"回款计划 {self.receivables} 笔，素材 {self.materials} 份",
                f"人均月拜访量 {self.visits_per_rep_month:.1f} 次，线索转化率 {self.lead_conversion:.1%}，"
                f"有效触点 {self.effective_per_rep_week:.1f} 个/销售/周，触点记录完整率 {self.complete_share:.0%}，"
                f"平均录入时长 {minutes} 分 {seconds} 秒",
                f"协同单24小时首次响应达标率 {self.first_response_rate:.0%}，"
                f"过程合规率 {self.checklist_compliance:.0%}，"
                f"超72小时未跟进商机 {self.overdue_open_deals} 个，付款准时率低于85%的客户 {self.late_payers} 家",
                f"（随机种子 {self.seed}，用时 {self.elapsed_seconds:.1f} 秒）",
            ]
        )


# ---------------------------------------------------------------------------------------------------------
# Public API


def seed(seed: int = DEFAULT_SEED, *, attachments_root: Path | None = None) -> SeedSummary:
    """Write the demo into the configured database (one transaction)."""
    with db.transaction() as session:
        return seed_into(session, seed, attachments_root=attachments_root)


def seed_if_empty(seed: int = DEFAULT_SEED, *, attachments_root: Path | None = None) -> SeedSummary | None:
    """Seed only a database without users (a fresh install); otherwise do nothing and return None."""
    with db.transaction() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return None
        return seed_into(session, seed, attachments_root=attachments_root)


def seed_into(session: Session, seed: int = DEFAULT_SEED, *, attachments_root: Path | None = None) -> SeedSummary:
    """Plan the demo and bulk-insert it through `session`; the caller commits.

    The visit photos' and notes' bytes go under `attachments_root` (default: the data folder's
    `attachments/`, where uploads live), stored by hash like any upload.
    """
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
    write_attachment_files(attachments_root or _default_attachments_root())
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
    roled: list[tuple[int, str, str]] = field(default_factory=list)  # the contacts with a decision-chain role
    roleless: list[tuple[int, str, str]] = field(default_factory=list)  # and those without
    deals: list[_Deal] = field(default_factory=list)
    touches: list[_Touch] = field(default_factory=list)
    established: bool = False  # known before the six months (else a new lead during them)
    converted: bool = False  # a new lead that got an opportunity
    first_touch: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    punctuality: float = 1.0
    lateness: float = 0.0  # accumulated share of late instalments not yet "spent"


@dataclass
class _Touch:
    id: int
    cust: _Cust
    occurred_at: datetime
    kind: str = "routine"  # first / lead / stage / follow_up / routine
    deal: _Deal | None = None  # the opportunity it is linked to
    record: str = "complete"  # complete / effective (but incomplete) / ineffective
    emotion: Emotion = Emotion.NEUTRAL


@dataclass
class _Deal:
    id: int
    cust: _Cust
    product: str
    amount_yuan: int
    path: list[str]  # stage codes entered, creation first
    status: OpportunityStatus
    times: list[datetime]  # when each stage of `path` was entered (planned: the stage touchpoints' times)
    stale: bool = False  # open and not followed up for more than 72 h
    from_first_touch: bool = False  # created from the lead's very first touchpoint
    stage_touches: list[_Touch] = field(default_factory=list)  # the touchpoint each stage change was made from
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
        self._attachments()
        self._customers()
        self._split_customers()
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
        roles: list[DecisionRole | None] = list(
            self.rng.choices(list(ROLE_WEIGHTS), list(ROLE_WEIGHTS.values()), k=count)
        )
        if count >= 3 and self.rng.random() < ROLELESS_SHARE:
            roles[-1] = None  # e.g. a secretary or a new face whose part in the decision nobody has noted yet
        for role in roles:
            contact_id = self.ids("contacts")
            name = self.rng.choice(vocab.SURNAMES) + self.rng.choice(vocab.GIVEN_NAMES)
            title = self.rng.choice(titles[role.value] if role else vocab.ROLELESS_TITLES[cust.kind.value])
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
            (cust.roled if role else cust.roleless).append((contact_id, name, title))

    # -- deals (planned first: their stage dates shape the touchpoints) -----------------------------------

    def _split_customers(self) -> None:
        """Established accounts (known before the six months) and new leads first touched during them.

        Every rep keeps two established accounts (big hospitals and distributors first), a few more are
        spread over the company. The new leads' first touches are spaced evenly over the six months, so
        every month — and every 30-day dashboard window — has its share of new leads.
        """
        by_owner: dict[int, list[_Cust]] = defaultdict(list)
        for cust in self.custs:
            by_owner[cust.owner_id].append(cust)
        weight = {"三甲": 4.0, "三乙": 2.0, None: 2.5}
        for rep in self.reps:
            own = by_owner[rep["id"]]
            for cust in _weighted_sample(self.rng, own, [weight.get(c.grade, 1.0) for c in own], 2):
                cust.established = True
        rest = [c for c in self.custs if not c.established]
        extra = ESTABLISHED - sum(1 for c in self.custs if c.established)
        for cust in _weighted_sample(self.rng, rest, [weight.get(c.grade, 1.0) for c in rest], extra):
            cust.established = True
        leads = [c for c in self.custs if not c.established]
        self.rng.shuffle(leads)
        span = (self.day0 - timedelta(days=1) - self.window_start) / len(leads)
        for n, cust in enumerate(leads):
            slot = self.window_start + span * (n + self.rng.random())
            cust.first_touch = self._working_time(slot)
        self.leads = sorted(leads, key=lambda c: c.first_touch)
        # Which leads become opportunities: error diffusion in time order, so the share is the article's
        # 11.3 % in every window, not only over the whole six months.
        for cust, flag in zip(self.leads, self._spread(len(self.leads), LEAD_CONVERSION, block=1), strict=True):
            cust.converted = flag

    def _deals(self) -> None:
        """Deals of established accounts started steadily over the history; one deal per converted lead."""
        history_start = self.day0 - timedelta(days=HISTORY_DAYS)
        established = [c for c in self.custs if c.established]
        weights = [4.0 if c.grade == "三甲" else 2.0 if c.grade in ("三乙", None) else 1.0 for c in established]
        count = round(ESTABLISHED_DEALS_PER_MONTH * HISTORY_DAYS / 30)
        span = (self.day0 - timedelta(days=2) - history_start) / count
        for n in range(count):
            start = self._working_time(history_start + span * (n + self.rng.random()))
            cust = self.rng.choices(established, weights)[0]
            self._deal(cust, start)
        for cust in self.leads:
            if cust.converted:
                # Created from a later touchpoint a few days after the first contact (or from the first one
                # itself when the lead came in during the last days).
                latest = self.day0 - timedelta(hours=3)
                start = self._working_time(cust.first_touch + timedelta(days=self.rng.uniform(1, 14)))
                self._deal(cust, start if start < latest else cust.first_touch, from_first_touch=start >= latest)
        for cust in self.custs:
            if cust.established:
                first = min([d.times[0] for d in cust.deals] + [self.window_start])
                cust.first_touch = self._working_time(first - timedelta(days=self.rng.uniform(5, 90)))
        open_deals = [d for d in self.deals if d.status is OpportunityStatus.OPEN]
        quiet = [d for d in open_deals if d.times[-1] < self.day0 - timedelta(days=5)]
        for deal in self.rng.sample(quiet, min(STALE_OPEN_DEALS, len(quiet))):
            deal.stale = True

    def _deal(self, cust: _Cust, start: datetime, *, from_first_touch: bool = False) -> None:
        """One deal: its fate, and the day it entered each stage — stays drawn around the stage's mean."""
        product = self._product()
        low, high = vocab.PRODUCT_LINES[product]
        amount = int(round(self.rng.uniform(low, high), -3))
        won = self.rng.random() < WIN_SHARE
        lost_at = len(STAGE_PATH) if won else self.rng.choices(range(len(STAGE_PATH)), LOSS_STAGE_WEIGHTS)[0] + 1
        codes = [*STAGE_PATH[:lost_at], "won" if won else "lost"]
        times = [start]
        for code in codes[:-1]:
            times.append(self._working_time(times[-1] + timedelta(days=self._stay_days(code)), after=times[-1]))
        horizon = self.day0 - timedelta(hours=3)
        kept = [t for t in times if t < horizon]
        codes, times = codes[: len(kept)], kept
        status = (
            OpportunityStatus.WON
            if codes[-1] == "won"
            else OpportunityStatus.LOST
            if codes[-1] == "lost"
            else OpportunityStatus.OPEN
        )
        deal = _Deal(self.ids("opportunities"), cust, product, amount, codes, status, times)
        deal.from_first_touch = from_first_touch
        cust.deals.append(deal)
        self.deals.append(deal)

    def _stay_days(self, code: str) -> float:
        """Days spent in a stage: its mean × (1 ± u), u uniform around STAY_SPREAD — the ±38 % baseline."""
        u = self.rng.uniform(STAY_SPREAD - STAY_SPREAD_WIDTH, STAY_SPREAD + STAY_SPREAD_WIDTH)
        return STAGE_MEAN_DAYS[code] * (1 + u if self.rng.random() < 0.5 else 1 - u)

    def _working_time(self, moment: datetime, *, after: datetime | None = None) -> datetime:
        """A working-hour time (08:30–21:00 Beijing, the same UTC day) on the Beijing day of `moment`."""
        local_day = (moment + BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
        for _ in range(20):
            minute = self.rng.randint(8 * 60 + 30, 21 * 60)
            candidate = local_day + timedelta(minutes=minute, seconds=self.rng.randrange(60)) - BEIJING
            if after is None or candidate > after + timedelta(hours=12):
                return candidate
            local_day += timedelta(days=1)
        raise AssertionError("unreachable: a later day always works")

    def _spread(self, n: int, share: float, *, block: int = 10) -> list[bool]:
        """round(n × share) True values spread evenly in order: each block of `block` items holds its share
        (cumulative rounding), shuffled within the block — so any run of items, e.g. a dashboard's 30 days of
        touchpoints in time order, has the share too, not only the whole list."""
        phase = self.rng.random()
        flags: list[bool] = []
        for start in range(0, n, block):
            size = min(block, n - start)
            hits = int((start + size) * share + phase) - int(start * share + phase)
            chunk = [i < hits for i in range(size)]
            self.rng.shuffle(chunk)
            flags += chunk
        return flags

    # -- touchpoints -------------------------------------------------------------------------------------

    def _touchpoints(self) -> None:
        """The deals' stage-change touchpoints, each lead's first contact and follow-ups, a recent follow-up on
        every open deal, and day by day enough routine touchpoints on the accounts for 28.6 a rep a month."""
        for cust in self.custs:
            self._touch(cust, cust.first_touch, "first")
            if not cust.established and not cust.converted:
                for _ in range(self.rng.choices((0, 1, 2), (45, 35, 20))[0]):
                    later = self._working_time(cust.first_touch + timedelta(days=self.rng.uniform(2, 40)))
                    if later < self.day0 - timedelta(hours=3):
                        self._touch(cust, later, "lead")
        for deal in self.deals:
            for n, moment in enumerate(deal.times):
                if n == 0 and deal.from_first_touch:
                    touch = deal.cust.touches[0]
                    touch.deal = deal
                else:
                    touch = self._touch(deal.cust, moment, "stage", deal)
                deal.stage_touches.append(touch)
            if deal.status is OpportunityStatus.OPEN and not deal.stale:
                if deal.times[-1] < self.day0 - timedelta(days=2):
                    day = self.day0 - timedelta(days=self.rng.choice((1, 2)))
                    self._touch(deal.cust, self._working_time(day), "follow_up", deal)
        self._routine_touches()
        for cust in self.custs:
            cust.touches.sort(key=lambda t: t.occurred_at)
            for a, b in pairwise(cust.touches):  # strictly increasing: stage changes sit between touchpoints
                if b.occurred_at <= a.occurred_at:
                    b.occurred_at = a.occurred_at + timedelta(seconds=1)
            self._link(cust)
        rows = {row["id"]: row for row in self.rows["customers"]}
        for cust in self.custs:  # ids in time order per customer, customers in id order: stable and readable
            for touch in cust.touches:
                touch.id = self.ids("touchpoints")
            # A customer card is created when the lead is first touched.
            rows[cust.id]["created_at"] = rows[cust.id]["updated_at"] = cust.touches[0].occurred_at

    def _touch(self, cust: _Cust, moment: datetime, kind: str, deal: _Deal | None = None) -> _Touch:
        touch = _Touch(0, cust, moment, kind=kind, deal=deal)
        cust.touches.append(touch)
        return touch

    def _routine_touches(self) -> None:
        """Fill each day of the six months up to its share of the total (weekends lighter) with routine
        touchpoints on the accounts a rep already works: established ones and converted leads."""
        total = round(VISITS_PER_REP_MONTH * REPS * WINDOW_DAYS / 30)
        days = [self.window_start + timedelta(days=d) for d in range(WINDOW_DAYS)]
        weights = [1.0 if (day + BEIJING).weekday() < 5 else WEEKEND_WEIGHT for day in days]
        base: Counter[int] = Counter()
        for cust in self.custs:
            for touch in cust.touches:
                offset = (touch.occurred_at - self.window_start).days
                if 0 <= offset < WINDOW_DAYS:
                    base[offset] += 1
        scale = total / sum(weights)
        activity = {rep["id"]: max(0.4, self.rng.gauss(1.0, 0.22)) for rep in self.reps}
        accounts: dict[int, list[_Cust]] = defaultdict(list)
        for cust in self.custs:
            if cust.established or cust.converted:
                accounts[cust.owner_id].append(cust)
        reps = [rep["id"] for rep in self.reps]
        account_weight = {c.id: self.rng.uniform(0.5, 1.5) * (1 + len(c.deals)) for c in self.custs}
        carry = 0.0
        # Today up to now gets its share of the day so far, so that a "last 30 days" window opened at any hour
        # holds 30 days of activity (it loses the same part of its first day).
        opened, closing = self.day0 + timedelta(minutes=30), self.day0 + timedelta(hours=13)  # 08:30–21:00 Beijing
        today = max(0.0, min(1.0, (self.now - opened) / (closing - opened)))
        today_weight = 1.0 if (self.day0 + BEIJING).weekday() < 5 else WEEKEND_WEIGHT
        for offset, (day, weight) in enumerate([*zip(days, weights, strict=True), (self.day0, today_weight * today)]):
            carry += weight * scale
            wanted = int(carry) - base[offset]
            carry -= int(carry)
            for rep_id in self.rng.choices(reps, [activity[r] for r in reps], k=max(0, wanted)):
                # An account is worked once known: a converted lead only after its first touch.
                known = [c for c in accounts[rep_id] if c.first_touch < day]
                if not known:
                    continue
                cust = self.rng.choices(known, [account_weight[c.id] for c in known])[0]
                if day < self.day0:
                    moment = self._working_time(day + timedelta(hours=12))
                else:
                    moment = opened + (self.now - opened) * self.rng.random()
                self._touch(cust, moment, "routine")

    def _link(self, cust: _Cust) -> None:
        """Stage touchpoints belong to their deal; most others to a deal of the customer open at the time.

        A closed deal takes no touchpoint after its closing one, a stale deal none after its last stage
        change (so the follow-up rule finds it), an open deal any up to today.
        """
        ends = {}
        for deal in cust.deals:
            last_stage = deal.stage_touches[-1].occurred_at
            ends[deal.id] = last_stage if deal.status is not OpportunityStatus.OPEN or deal.stale else self.day0
        for touch in cust.touches:
            if touch.deal is not None:
                continue
            open_then = [d for d in cust.deals if d.stage_touches[0].occurred_at < touch.occurred_at < ends[d.id]]
            if open_then and self.rng.random() < 0.85:
                touch.deal = self.rng.choice(open_then)

    def _product(self) -> str:
        return self.rng.choices(list(vocab.PRODUCT_LINES), vocab.PRODUCT_WEIGHTS)[0]

    # -- touchpoint rows ---------------------------------------------------------------------------------

    def _write_touchpoints(self) -> None:
        """Rows in id order; completeness classes spread in time order so every window has the baseline:
        63 % effective (4.2 a rep a week), 31 % complete records."""
        touches = sorted((t for c in self.custs for t in c.touches), key=lambda t: (t.occurred_at, t.cust.id))
        effective = self._spread(len(touches), EFFECTIVE_SHARE)
        complete = iter(self._spread(sum(effective), COMPLETE_SHARE / EFFECTIVE_SHARE))
        for touch, is_effective in zip(touches, effective, strict=True):
            touch.record = ("complete" if next(complete) else "effective") if is_effective else "ineffective"
        for cust in self.custs:
            deal_products = [d.product for d in cust.deals]
            for touch in cust.touches:
                product = touch.deal.product if touch.deal else self.rng.choice(deal_products or [self._product()])
                self._touch_row(touch, product)
        self._calibrate_entry_times()

    def _touch_row(self, touch: _Touch, product: str) -> None:
        """One touchpoint. Complete: effective, a summary, an emotion the rep chose, every participant's
        decision role known, and (面访) an attachment. Effective but incomplete: exactly one of those missing.
        Not effective: no next action, no due time or no customer-side participant."""
        rng, cust = self.rng, touch.cust
        tp_type = rng.choices(list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values()))[0]
        touch.emotion = rng.choices(list(EMOTION_WEIGHTS), list(EMOTION_WEIGHTS.values()))[0]
        defect = None
        if touch.record == "effective":
            options = {"emotion": 45, "summary": 15, "role": 30 if cust.roleless else 0}
            if tp_type is TouchpointType.VISIT:
                options["attachment"] = 90
            defect = rng.choices(list(options), list(options.values()))[0]
        elif touch.record == "ineffective":
            defect = rng.choices(("action", "due", "contacts"), (50, 20, 30))[0]
        if touch.record == "complete" or defect in ("summary", "attachment"):
            source = rng.choices(list(CLEAN_SOURCE_WEIGHTS), list(CLEAN_SOURCE_WEIGHTS.values()))[0]
        elif defect == "emotion":
            source = rng.choices(list(GUESSED_SOURCE_WEIGHTS), list(GUESSED_SOURCE_WEIGHTS.values()))[0]
        else:
            source = rng.choices(list(SOURCE_WEIGHTS), list(SOURCE_WEIGHTS.values()))[0]
        if defect == "summary":
            source = CaptureSource.CHAT_BUTTON  # a quick button tap: next action and who, no notes
        guessed = list(GUESSED_BY_SOURCE.get(source, ())) if touch.record != "complete" else []
        if defect == "emotion" and "emotion" not in guessed:
            guessed.append("emotion")
        if defect == "role" or (touch.record == "ineffective" and cust.roleless and rng.random() < 0.3):
            present = [cust.roleless[0], *rng.sample(cust.roled, min(len(cust.roled), rng.choice((0, 1))))]
        elif defect == "contacts":
            present = []
        else:
            present = rng.sample(cust.roled, min(len(cust.roled), rng.choices((1, 2), (70, 30))[0]))
        who = f"{present[0][2]}{present[0][1]}" if present else "相关科室"
        summary = (
            ""
            if defect == "summary"
            else vocab.TOUCH_OPENINGS[tp_type.value].format(who=who, expo=rng.choice(vocab.EXPOS))
            + "，"
            + rng.choice(vocab.TOUCH_TOPICS).format(product=product)
            + "；"
            + rng.choice(vocab.REACTIONS[touch.emotion.value])
            + "。"
        )
        next_action = None if defect == "action" else rng.choice(vocab.NEXT_ACTIONS).format(product=product, who=who)
        due = None
        if defect not in ("action", "due"):
            day = (touch.occurred_at + BEIJING).replace(hour=0, minute=0, second=0) - BEIJING
            due = day + timedelta(days=rng.randint(1, 7), hours=rng.randint(10, 17))
        attachments: list[int] = []
        files = self.rep_attachments[cust.owner_id]
        if (
            tp_type is TouchpointType.VISIT
            and defect != "attachment"
            and (touch.record == "complete" or rng.random() < 0.5)
        ):
            attachments = rng.sample(files, rng.choice((1, 2)))
        elif tp_type is not TouchpointType.VISIT and rng.random() < 0.08:
            attachments = [files[0]]  # a photo sent over WeChat
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
                "attachments": attachments,
                "guessed_fields": guessed,
                "created_at": submitted,
                "updated_at": submitted,
            }
        )
        if touch.deal is not None:
            self.updates["touchpoints"].append({"id": touch.id, "opportunity_id": touch.deal.id})
        self.rows["touchpoint_contacts"].extend({"touchpoint_id": touch.id, "contact_id": c[0]} for c in present)

    def _entry_times(self, occurred: datetime, source: CaptureSource) -> tuple[datetime, datetime | None]:
        """Submit time and form-open time. Excel imports have no form: they arrive days later in one batch."""
        latest = max(occurred, min(self.now, occurred + timedelta(days=30)) - timedelta(seconds=30))
        if source is CaptureSource.EXCEL_IMPORT:
            return min(occurred + timedelta(days=self.rng.randint(1, 10)), latest), None
        submitted = min(occurred + timedelta(minutes=self.rng.randint(2, 180)), latest)
        seconds = max(20, round(ENTRY_MEDIAN_SECONDS * self.rng.lognormvariate(0, 0.55)))
        return submitted, submitted - timedelta(seconds=seconds)

    def _calibrate_entry_times(self) -> None:
        """Scale entry durations so that each 30-day block's median is exactly the article's 6 min 14 s (then
        any 30-day window's median is too, give or take a few seconds)."""
        blocks: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in self.rows["touchpoints"]:
            if row["form_opened_at"] is not None:
                blocks[(self.day0 - row["occurred_at"]).days // 30].append(row)
        self.entry_seconds = []
        for rows in blocks.values():
            seconds = [(r["submitted_at"] - r["form_opened_at"]).total_seconds() for r in rows]
            factor = ENTRY_MEDIAN_SECONDS / statistics.median(seconds)
            for row, s in zip(rows, seconds, strict=True):
                row["form_opened_at"] = row["submitted_at"] - timedelta(seconds=round(s * factor))
                self.entry_seconds.append(round(s * factor))

    # -- opportunities -----------------------------------------------------------------------------------

    def _opportunities(self) -> None:
        self._write_touchpoints()
        for deal in self.deals:
            self._write_deal(deal)
        self._write_transitions()

    def _write_deal(self, deal: _Deal) -> None:
        cust = deal.cust
        following = {a.id: b.occurred_at for a, b in pairwise(cust.touches)}
        deal.transition_times = []
        for touch in deal.stage_touches:
            # Made right after its touchpoint and before the customer's next one, as the handler requires.
            delay = timedelta(minutes=self.rng.randint(3, 40))
            if touch.id in following:
                delay = min(delay, (following[touch.id] - touch.occurred_at) / 2)
            deal.transition_times.append(touch.occurred_at + delay)
        linked = [t for t in cust.touches if t.deal is deal]
        last = linked[-1]
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
        """Stage history; 30 % of the stage changes, spread evenly in time, were pushed through by a manager
        over a missing checklist (a stage without checklist passes the debt on to the next change)."""
        changes = sorted(
            ((deal, n) for deal in self.deals for n in range(1, len(deal.path))),
            key=lambda c: c[0].transition_times[c[1]],
        )
        incomplete: set[tuple[int, int]] = set()
        owed = self.rng.random()
        for deal, n in changes:
            owed += 1 - CHECKLIST_COMPLETE
            if owed >= 1 and self.checklists[deal.path[n]]:
                incomplete.add((deal.id, n))
                owed -= 1
        for deal in self.deals:
            for n, code in enumerate(deal.path):
                moment = deal.transition_times[n]
                complete = (deal.id, n) not in incomplete
                rep_id = deal.cust.owner_id
                self.rows["stage_transitions"].append(
                    {
                        "id": self.ids("stage_transitions"),
                        "opportunity_id": deal.id,
                        "from_stage_id": self.stage_ids[deal.path[n - 1]] if n else None,
                        "to_stage_id": self.stage_ids[code],
                        "actor_id": rep_id if complete else self.manager_of[rep_id],
                        "touchpoint_id": deal.stage_touches[n].id,
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

    # -- attachments -------------------------------------------------------------------------------------

    def _attachments(self) -> None:
        """Each rep's visit photo and visit notes: one row per rep and file (uploads are kept once per user
        and content), the bytes once under the attachments folder (see `write_attachment_files`)."""
        self.rep_attachments: dict[int, list[int]] = {}
        for rep in self.reps:
            ids = []
            for filename, content_type, data in _attachment_files():
                attachment_id = self.ids("attachments")
                sha256 = hashlib.sha256(data).hexdigest()
                joined = self.window_start - timedelta(days=200)
                self.rows["attachments"].append(
                    {
                        "id": attachment_id,
                        "sha256": sha256,
                        "filename": filename,
                        "content_type": content_type,
                        "size_bytes": len(data),
                        "storage_path": f"{sha256[:2]}/{sha256[2:4]}/{sha256}",
                        "uploaded_by_id": rep["id"],
                        "created_at": joined,
                        "updated_at": joined,
                    }
                )
                ids.append(attachment_id)
            self.rep_attachments[rep["id"]] = ids

    # -- collaboration -----------------------------------------------------------------------------------

    def _collaboration(self) -> None:
        """A ticket for every deal that entered 样品测试; 44 % of the parts, spread evenly in time (so every
        window shows it), got their first valid answer within 24 h."""
        sampled = sorted(
            (d for d in self.deals if SAMPLE_TEST in d.path),
            key=lambda d: d.transition_times[d.path.index(SAMPLE_TEST)],
        )
        parts = [(d.id, kind) for d in sampled for kind in (DepartmentKind.MARKETING, DepartmentKind.DELIVERY)]
        on_time = {
            part
            for part, flag in zip(parts, self._spread(len(parts), FIRST_RESPONSE_RATE, block=1), strict=True)
            if flag
        }
        self.ticket_parts = len(parts)
        for deal in sampled:
            self._ticket(deal, on_time)

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
        horizon = self.day0 - timedelta(minutes=1)  # nothing may be answered in the future
        if on_time:  # answered in time, and before today
            limit = min(23.5, (horizon - opened).total_seconds() / 3600 - 0.01)
            first = valid = opened + timedelta(hours=hours(min(1.0, limit / 2), limit))
        elif self.rng.random() < 0.35:  # a quick reply without the material / schedule, the real one later
            first, valid = opened + timedelta(hours=hours(2, 20)), opened + timedelta(hours=hours(26, 80))
        else:
            first = valid = opened + timedelta(hours=hours(25, 96))
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
        """The figures over the six months, computed from the planned rows (the tests measure them back with
        `salesnav.metrics` from the database)."""
        start, end = self.window_start, self.day0
        touches = [t for t in self.rows["touchpoints"] if start <= t["occurred_at"] < end]
        records = {t.id: t.record for c in self.custs for t in c.touches}
        effective = sum(1 for t in touches if records[t["id"]] != "ineffective")
        leads = [c for c in self.custs if start <= c.touches[0].occurred_at < end]
        transitions = [
            t for t in self.rows["stage_transitions"] if t["from_stage_id"] and start <= t["occurred_at"] < end
        ]
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
            touchpoints=len(self.rows["touchpoints"]),
            touchpoints_six_months=len(touches),
            opportunities=len(self.deals),
            won=sum(1 for d in self.deals if d.status is OpportunityStatus.WON),
            lost=sum(1 for d in self.deals if d.status is OpportunityStatus.LOST),
            stage_transitions=len(self.rows["stage_transitions"]),
            tickets=len(self.rows["collaboration_tickets"]),
            receivables=len(self.rows["receivables"]),
            payments=len(self.rows["payments"]),
            materials=len(self.rows["materials"]),
            visits_per_rep_month=len(touches) / REPS / (WINDOW_DAYS / 30),
            lead_conversion=sum(1 for c in leads if c.deals) / max(1, len(leads)),
            effective_share=effective / len(touches),
            effective_per_rep_week=effective / REPS / (WINDOW_DAYS / 7),
            complete_share=sum(1 for t in touches if records[t["id"]] == "complete") / len(touches),
            entry_median_seconds=statistics.median(self.entry_seconds),
            first_response_rate=self.first_response_ok / max(1, self.ticket_parts),
            checklist_compliance=sum(1 for t in transitions if t["checklist_complete"]) / max(1, len(transitions)),
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


def _weighted_sample(rng: random.Random, items: list[Any], weights: list[float], k: int) -> list[Any]:
    """k distinct items, heavier ones likelier (Efraimidis–Spirakis keys)."""
    keyed = sorted(((rng.random() ** (1 / w), n) for n, w in enumerate(weights)), reverse=True)
    return [items[n] for _, n in keyed[: max(0, k)]]


@cache
def _attachment_files() -> tuple[tuple[str, str, bytes], ...]:
    """The demo's two attachment files: a visit photo (a small PNG) and visit notes (a one-page PDF)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (96, 64), (222, 235, 247))
    ImageDraw.Draw(image).rectangle((8, 8, 87, 55), outline=(22, 119, 255), width=3)
    photo = io.BytesIO()
    image.save(photo, format="PNG")
    notes = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    return (("拜访现场照片.png", "image/png", photo.getvalue()), ("拜访纪要.pdf", "application/pdf", notes))


def write_attachment_files(root: Path) -> None:
    """Put the demo attachments' bytes where uploads live (by SHA-256, as `store_attachment` does)."""
    from salesnav.handlers.attachments import storage_path

    for _, _, data in _attachment_files():
        path = storage_path(root, hashlib.sha256(data).hexdigest())
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def _default_attachments_root() -> Path:
    from salesnav.voice.transcript import current_settings

    return current_settings().data_dir / "attachments"


# ---------------------------------------------------------------------------------------------------------
# Writing

# Insertion order respects foreign keys; circular ones (department heads, a touchpoint's opportunity) are
# inserted empty and filled in by `DemoPlan.updates` afterwards.
TABLES: tuple[tuple[str, Any], ...] = (
    ("departments", Department),
    ("users", User),
    ("attachments", Attachment),
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
