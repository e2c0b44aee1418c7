"""The demo planned in memory: row dicts per table with explicit ids, drawn from one `random.Random(seed)`.

`DemoPlan` holds the shared state and the draws every step uses (names, phone numbers, working hours, shares
spread evenly in time); each step of `build` lives in its own module and runs in a fixed order, because the
same seed must give the same company.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from salesnav.demo import vocab
from salesnav.demo.baseline import BEIJING, WINDOW_DAYS
from salesnav.demo.plan.attachments import add_visit_attachments
from salesnav.demo.plan.collaboration import add_tickets
from salesnav.demo.plan.customers import add_customers
from salesnav.demo.plan.deals import add_deals, split_customers
from salesnav.demo.plan.finance import add_instalment_plans
from salesnav.demo.plan.materials import add_materials
from salesnav.demo.plan.opportunities import add_opportunities
from salesnav.demo.plan.org import add_org
from salesnav.demo.plan.records import IdCounter, PlannedCustomer, PlannedDeal
from salesnav.demo.plan.touchpoint_rows import add_touchpoint_rows
from salesnav.demo.plan.touchpoints import add_touchpoints
from salesnav.demo.summary import SeedSummary, measure
from salesnav.models import DepartmentKind, Emotion, Health, Stage


class DemoPlan:
    """The whole demo as row dicts per table, in insertion order."""

    def __init__(
        self, rng: random.Random, day0: datetime, now: datetime, stages: list[Stage], id_bases: dict[str, int]
    ) -> None:
        self.rng, self.day0, self.now = rng, day0, now
        self.window_start = day0 - timedelta(days=WINDOW_DAYS)
        self.stage_ids = {s.code: s.id for s in stages}
        self.checklists = {s.code: [(i.id, i.kind) for i in s.checklist if i.required] for s in stages}
        self.ids = IdCounter(id_bases)
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.updates: dict[str, list[dict[str, Any]]] = defaultdict(list)  # circular references, set later
        self.reps: list[dict[str, Any]] = []
        self.manager_of: dict[int, int] = {}
        self.dept_by_kind: dict[DepartmentKind, int] = {}
        self.dept_heads: dict[DepartmentKind, int] = {}
        self.custs: list[PlannedCustomer] = []
        self.deals: list[PlannedDeal] = []
        self.used_names: set[str] = set()
        self.used_phones: set[str] = set()
        self.entry_seconds: list[int] = []
        self.first_response_ok = 0
        self.ticket_parts = 0
        self.leads: list[PlannedCustomer] = []  # the new leads, by first touch (set by `split_customers`)
        self.rep_attachments: dict[int, list[int]] = {}  # each rep's visit photo and notes

    def build(self) -> None:
        add_org(self)
        add_visit_attachments(self)
        add_customers(self)
        split_customers(self)
        add_deals(self)
        add_touchpoints(self)
        add_touchpoint_rows(self)
        add_opportunities(self)
        add_tickets(self)
        add_instalment_plans(self)
        add_materials(self)

    def person_name(self) -> str:
        while True:
            name = self.rng.choice(vocab.SURNAMES) + self.rng.choice(vocab.GIVEN_NAMES)
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def mobile(self) -> str:
        while True:
            number = f"+86{self.rng.choice(vocab.MOBILE_PREFIXES)}{self.rng.randrange(10**8):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def working_time(self, moment: datetime, *, after: datetime | None = None) -> datetime:
        """A working-hour time (08:30–21:00 Beijing, the same UTC day) on the Beijing day of `moment`."""
        local_day = (moment + BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
        for _ in range(20):
            minute = self.rng.randint(8 * 60 + 30, 21 * 60)
            candidate = local_day + timedelta(minutes=minute, seconds=self.rng.randrange(60)) - BEIJING
            if after is None or candidate > after + timedelta(hours=12):
                return candidate
            local_day += timedelta(days=1)
        raise AssertionError("unreachable: a later day always works")

    def spread(self, n: int, share: float, *, block: int = 10) -> list[bool]:
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

    def product(self) -> str:
        return self.rng.choices(list(vocab.PRODUCT_LINES), vocab.PRODUCT_WEIGHTS)[0]

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
        """The figures over the six months, computed from the planned rows."""
        return measure(self, seed)
