"""Win probability (赢单概率) learned from the company's own closed deals, with the reasons for each deal.

Until there is enough history the stage table (阶段赢率, typed in by the admin) is the probability. Once the
company has MIN_CLOSED closed deals, at least MIN_EACH of them won and MIN_EACH lost, `retrain` fits a
logistic regression (scikit-learn) on what we already hold about each deal:

- the stage (its table probability) and the days in it against the norm (the mean stay of closed deals there);
- the emotion of the customer's last RECENT touchpoints (积极 1.0 / 中性 0.6 / 抵触 0.2: level and trend);
- the decision chain: how many of the four roles were met in the last CHAIN_DAYS, and whether the 否决者 was;
- ticket timeliness: the share of the deal's collaboration parts answered after their deadline;
- the touchpoint rhythm: touchpoints in the last 30 days, days since the last one;
- the amount (log), the product line, the customer kind and grade (one-hot, rare values as 「其他」).

Examples: one per stay of a closed deal in an open stage, the features as of the middle of the stay (an open
deal is, on average, half-way through its stay), labelled with how the deal ended.

Honest evaluation, every training: a time split — the recipe is fitted on the older closes and scored on the
newest TEST_SHARE of closes, Brier score and AUC against the stage table on the same examples, plus a
calibration table. The version kept is then refitted on all closes. A version whose held-out Brier score is
worse than the stage table's is stored (with its figures) but not used: the stage table stays in force.

Scoring needs no machine-learning library: a version's parameters (scaling, coefficients) are plain JSON, and
each deal's reasons are its largest coefficient × feature contributions, in Chinese.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from salesnav.handlers.scope import opportunity_for
from salesnav.models import (
    CollaborationTicket,
    Customer,
    Emotion,
    Opportunity,
    OpportunityStatus,
    Stage,
    StageOutcome,
    StageTransition,
    TicketPart,
    Touchpoint,
    User,
    WinModel,
)
from salesnav.models.customers import DecisionRole
from salesnav.models.touchpoints import CONTACT_ROLE_BITS

MIN_CLOSED = 60  # closed deals before a model is trained; below it the stage table is the probability
MIN_EACH = 10  # ... of which at least this many won and this many lost
TEST_SHARE = 0.25  # the newest quarter of closes is held out to judge a version
RECENT = 5  # touchpoints read for the emotion level and trend
CHAIN_DAYS = 90  # decision-chain roles met in this many days count as covered
RHYTHM_DAYS = 30
QUIET_CAP_DAYS = 60.0
STAY_CAP = 4.0  # days in stage / norm, capped
RARE = 5  # a category seen fewer times in training is 「其他」
TOP_REASONS = 3
EMOTION_VALUE = {Emotion.POSITIVE: 1.0, Emotion.NEUTRAL: 0.6, Emotion.RESISTANT: 0.2}
NUMERIC = (
    "stage",
    "stay",
    "emotion",
    "emotion_trend",
    "chain",
    "veto",
    "tickets_late",
    "rhythm",
    "quiet",
    "amount",
)
CATEGORICAL = ("product_line", "kind", "grade")
OTHER = "其他"
VETO_BIT = CONTACT_ROLE_BITS[DecisionRole.VETO]
ROLE_MASK = sum(CONTACT_ROLE_BITS.values())
KIND_LABEL = {"hospital": "医院", "distributor": "经销商", "other": "其他"}
STAGE_TABLE, MODEL = "stage_table", "model"


# --- what we hold about a deal ---------------------------------------------------------------------------


@dataclass
class DealHistory:
    id: int
    customer_id: int
    product_line: str
    amount_fen: int
    kind: str
    grade: str
    status: OpportunityStatus
    closed_at: datetime | None
    stays: list[tuple[int, datetime, datetime | None]]  # (stage id, entered, left or None: still there)


@dataclass
class Evidence:
    """The customers' touchpoints and the deals' ticket parts, in time order, for features as of any moment."""

    touch_times: dict[int, list[datetime]] = field(default_factory=dict)
    touch_emotion: dict[int, list[float]] = field(default_factory=dict)
    touch_roles: dict[int, list[int]] = field(default_factory=dict)
    parts: dict[int, list[tuple[datetime, datetime | None]]] = field(default_factory=dict)  # due, answered


@dataclass(frozen=True)
class StageInfo:
    id: int
    name: str
    probability: float  # the stage table's, 0..1
    open: bool
    position: int = 0


@dataclass(frozen=True)
class Example:
    deal_id: int
    stage_id: int
    as_of: datetime
    closed_at: datetime | None
    won: bool | None
    numeric: dict[str, float]
    category: dict[str, str]
    facts: dict[str, Any]  # what the reasons quote: days, counts


def stages(session: Session) -> dict[int, StageInfo]:
    return {
        s.id: StageInfo(s.id, s.name, (s.win_probability or 0) / 100, s.outcome is StageOutcome.OPEN, s.position)
        for s in session.scalars(select(Stage).where(Stage.deleted_at.is_(None)))
    }


def load_deals(session: Session, *where: ColumnElement[bool]) -> tuple[list[DealHistory], Evidence]:
    """The deals matching `where` with their stays, and the evidence their features read (a few bulk queries)."""
    conditions = (Opportunity.deleted_at.is_(None), *where)
    rows = session.execute(
        select(
            Opportunity.id,
            Opportunity.customer_id,
            Opportunity.product_line,
            Opportunity.expected_amount_fen,
            Customer.kind,
            Customer.grade,
            Opportunity.status,
            Opportunity.closed_at,
            Opportunity.stage_id,
            Opportunity.stage_entered_at,
        )
        .join(Customer, Customer.id == Opportunity.customer_id)
        .where(*conditions)
        .order_by(Opportunity.id)
    ).all()
    ids = select(Opportunity.id).where(*conditions).scalar_subquery()
    customer_ids = select(Opportunity.customer_id).where(*conditions).scalar_subquery()
    moves: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for opp_id, to_stage, at in session.execute(
        select(StageTransition.opportunity_id, StageTransition.to_stage_id, StageTransition.occurred_at)
        .where(StageTransition.opportunity_id.in_(ids))
        .order_by(StageTransition.occurred_at, StageTransition.id)
    ):
        moves[opp_id].append((to_stage, at))
    deals = []
    for r in rows:
        history = moves.get(r.id) or [(r.stage_id, r.stage_entered_at)]
        if history[-1][0] != r.stage_id:  # the deal's own stage is the truth about where it is now
            history = [m for m in history if m[1] < r.stage_entered_at] + [(r.stage_id, r.stage_entered_at)]
        stays: list[tuple[int, datetime, datetime | None]] = [
            (stage, at, history[n + 1][1] if n + 1 < len(history) else None) for n, (stage, at) in enumerate(history)
        ]
        deals.append(
            DealHistory(
                r.id,
                r.customer_id,
                r.product_line,
                r.expected_amount_fen,
                r.kind.value,
                r.grade or "未分级",
                r.status,
                r.closed_at,
                stays,
            )
        )
    evidence = Evidence()
    for customer_id, at, emotion, roles in session.execute(
        select(Touchpoint.customer_id, Touchpoint.occurred_at, Touchpoint.emotion, Touchpoint.contact_roles)
        .where(Touchpoint.customer_id.in_(customer_ids), Touchpoint.deleted_at.is_(None))
        .order_by(Touchpoint.occurred_at, Touchpoint.id)
    ):
        evidence.touch_times.setdefault(customer_id, []).append(at)
        evidence.touch_emotion.setdefault(customer_id, []).append(EMOTION_VALUE[emotion])
        evidence.touch_roles.setdefault(customer_id, []).append(roles or 0)
    for opp_id, due, answered in session.execute(
        select(CollaborationTicket.opportunity_id, TicketPart.due_at, TicketPart.first_valid_response_at)
        .join(CollaborationTicket, CollaborationTicket.id == TicketPart.ticket_id)
        .where(CollaborationTicket.opportunity_id.in_(ids))
        .order_by(TicketPart.due_at)
    ):
        evidence.parts.setdefault(opp_id, []).append((due, answered))
    return deals, evidence


# --- features -------------------------------------------------------------------------------------------


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400


def features(
    deal: DealHistory,
    stage: StageInfo,
    entered: datetime,
    as_of: datetime,
    evidence: Evidence,
    norms: dict[int, float],
) -> tuple[dict[str, float], dict[str, str], dict[str, Any]]:
    """The deal's features as of `as_of`, while in `stage` since `entered` (numeric, categorical, facts)."""
    times = evidence.touch_times.get(deal.customer_id, [])
    upto = bisect_right(times, as_of)
    emotions = evidence.touch_emotion.get(deal.customer_id, [])[max(0, upto - RECENT) : upto]
    since = bisect_left(times, as_of - timedelta(days=CHAIN_DAYS))
    roles = 0
    for bits in evidence.touch_roles.get(deal.customer_id, [])[since:upto]:
        roles |= bits
    rhythm = upto - bisect_left(times, as_of - timedelta(days=RHYTHM_DAYS))
    quiet = min(_days(as_of - times[upto - 1]), QUIET_CAP_DAYS) if upto else QUIET_CAP_DAYS
    due = [(d, a) for d, a in evidence.parts.get(deal.id, []) if d <= as_of]
    late = sum(1 for d, a in due if a is None or a > d)
    days_in = max(_days(as_of - entered), 0.0)
    norm = norms.get(stage.id) or norms.get(0) or 30.0
    chain = bin(roles & ROLE_MASK).count("1")
    numeric = {
        "stage": stage.probability,
        "stay": min(days_in / norm, STAY_CAP),
        "emotion": sum(emotions) / len(emotions) if emotions else EMOTION_VALUE[Emotion.NEUTRAL],
        "emotion_trend": emotions[-1] - emotions[0] if len(emotions) >= 2 else 0.0,
        "chain": chain / 4,
        "veto": 1.0 if roles & VETO_BIT else 0.0,
        "tickets_late": late / len(due) if due else 0.0,
        "rhythm": float(min(rhythm, 20)),
        "quiet": quiet,
        "amount": math.log10(max(deal.amount_fen, 100) / 100),
    }
    category = {"product_line": deal.product_line, "kind": deal.kind, "grade": deal.grade}
    facts = {
        "stage_name": stage.name,
        "days_in": days_in,
        "norm": norm,
        "touches": len(emotions),
        "chain": chain,
        "due_parts": len(due),
        "late_parts": late,
        "rhythm": rhythm,
        "quiet": quiet if upto else None,
        "amount_wan": deal.amount_fen / 1_000_000,
    }
    return numeric, category, facts


def stage_norms(deals: Iterable[DealHistory], stage_info: dict[int, StageInfo]) -> dict[int, float]:
    """Mean days of the finished stays in each open stage (key 0: over all stages), from closed deals."""
    per: dict[int, list[float]] = defaultdict(list)
    for deal in deals:
        for stage, entered, left in deal.stays:
            if left is not None and stage in stage_info and stage_info[stage].open:
                per[stage].append(_days(left - entered))
    norms = {stage: sum(v) / len(v) for stage, v in per.items() if v}
    every = [d for v in per.values() for d in v]
    norms[0] = sum(every) / len(every) if every else 30.0
    return {k: max(v, 0.5) for k, v in norms.items()}


def training_examples(
    deals: Iterable[DealHistory], evidence: Evidence, stage_info: dict[int, StageInfo], norms: dict[int, float]
) -> list[Example]:
    """One example per stay of a closed deal in an open stage, as of the stay's middle."""
    out = []
    for deal in deals:
        if deal.status is OpportunityStatus.OPEN or deal.closed_at is None:
            continue
        for stage_id, entered, left in deal.stays:
            stage = stage_info.get(stage_id)
            if stage is None or not stage.open or left is None:
                continue
            middle = entered + (left - entered) / 2
            numeric, category, facts = features(deal, stage, entered, middle, evidence, norms)
            won = deal.status is OpportunityStatus.WON
            out.append(Example(deal.id, stage_id, middle, deal.closed_at, won, numeric, category, facts))
    return out


def current_example(
    deal: DealHistory, evidence: Evidence, stage_info: dict[int, StageInfo], norms: dict[int, float], now: datetime
) -> Example | None:
    """An open deal's features now (None for a deal that is closed or in a closed stage)."""
    stage_id, entered, _ = deal.stays[-1]
    stage = stage_info.get(stage_id)
    if deal.status is not OpportunityStatus.OPEN or stage is None or not stage.open:
        return None
    numeric, category, facts = features(deal, stage, entered, now, evidence, norms)
    return Example(deal.id, stage_id, now, None, None, numeric, category, facts)


# --- fitting and scoring -----------------------------------------------------------------------------------


def _vocabulary(examples: Sequence[Example]) -> dict[str, list[str]]:
    vocab = {}
    for name in CATEGORICAL:
        seen = Counter(e.category[name] for e in examples)
        vocab[name] = sorted(v for v, n in seen.items() if n >= RARE)
    return vocab


def _row(example: Example, names: list[str], vocab: dict[str, list[str]]) -> list[float]:
    values = dict(example.numeric)
    for name in CATEGORICAL:
        value = example.category[name]
        values[f"{name}={value if value in vocab[name] else OTHER}"] = 1.0
    return [values.get(n, 0.0) for n in names]


def fit(examples: Sequence[Example], norms: dict[int, float]) -> dict[str, Any]:
    """A logistic regression on the examples: its parameters as JSON (features, scaling, coefficients)."""
    # scikit-learn (and its numpy/scipy) is imported here, not at module level: only training needs it, and
    # the web and chat processes that merely score deals never load it.
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    vocab = _vocabulary(examples)
    names = list(NUMERIC) + [f"{c}={v}" for c in CATEGORICAL for v in [*vocab[c], OTHER]]
    x = np.array([_row(e, names, vocab) for e in examples], dtype=float)
    y = np.array([1 if e.won else 0 for e in examples])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=0.5, max_iter=2000)
    model.fit((x - mean) / scale, y)
    return {
        "features": names,
        "vocabulary": vocab,
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "coef": [round(float(v), 6) for v in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 6),
        "stage_norm_days": {str(k): round(v, 3) for k, v in norms.items()},
    }


def _contributions(params: dict[str, Any], example: Example) -> tuple[float, list[tuple[str, float]]]:
    names = params["features"]
    row = _row(example, names, params["vocabulary"])
    parts = [
        (name, c * (v - m) / s)
        for name, v, m, s, c in zip(names, row, params["mean"], params["scale"], params["coef"], strict=True)
    ]
    return params["intercept"] + sum(p for _, p in parts), parts


def predict(params: dict[str, Any], example: Example) -> float:
    logit, _ = _contributions(params, example)
    return 1 / (1 + math.exp(-max(min(logit, 30.0), -30.0)))


def norms_of(params: dict[str, Any]) -> dict[int, float]:
    return {int(k): float(v) for k, v in params["stage_norm_days"].items()}


# --- judging -----------------------------------------------------------------------------------------------


def brier(probabilities: Sequence[float], outcomes: Sequence[bool]) -> float:
    return sum((p - (1.0 if y else 0.0)) ** 2 for p, y in zip(probabilities, outcomes, strict=True)) / max(
        len(outcomes), 1
    )


def auc(probabilities: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """The chance a won example is scored above a lost one (ties half); None without both kinds."""
    won = sorted(p for p, y in zip(probabilities, outcomes, strict=True) if y)
    lost = sorted(p for p, y in zip(probabilities, outcomes, strict=True) if not y)
    if not won or not lost:
        return None
    above = sum(bisect_left(lost, p) + (bisect_right(lost, p) - bisect_left(lost, p)) / 2 for p in won)
    return above / (len(won) * len(lost))


def calibration(probabilities: Sequence[float], outcomes: Sequence[bool], bins: int = 5) -> list[dict[str, Any]]:
    """Per probability band: how many examples, the mean probability given, the share that was won."""
    out = []
    for n in range(bins):
        low, high = n / bins, (n + 1) / bins
        inside = [
            (p, y)
            for p, y in zip(probabilities, outcomes, strict=True)
            if low <= p < high or (n == bins - 1 and p == 1.0)
        ]
        out.append(
            {
                "band": f"{low:.0%}–{high:.0%}",
                "count": len(inside),
                "predicted": round(sum(p for p, _ in inside) / len(inside), 3) if inside else None,
                "observed": round(sum(1 for _, y in inside if y) / len(inside), 3) if inside else None,
            }
        )
    return out


@dataclass(frozen=True)
class Split:
    train: list[DealHistory]
    test: list[DealHistory]
    cut: datetime


def time_split(deals: Sequence[DealHistory], test_share: float = TEST_SHARE) -> Split:
    """Older closes to train on, the newest `test_share` to test on."""
    closed = sorted((d for d in deals if d.closed_at is not None), key=lambda d: (d.closed_at, d.id))
    n_test = max(1, round(len(closed) * test_share))
    train, test = closed[:-n_test], closed[-n_test:]
    cut = test[0].closed_at if test and test[0].closed_at else datetime.max
    return Split(train, test, cut)


def evaluate(
    deals: Sequence[DealHistory], evidence: Evidence, stage_info: dict[int, StageInfo], test_share: float = TEST_SHARE
) -> dict[str, Any]:
    """Fit on the older closes, score the newer ones: the model against the stage table on the same examples."""
    split = time_split(deals, test_share)
    norms = stage_norms(split.train, stage_info)
    train = training_examples(split.train, evidence, stage_info, norms)
    test = training_examples(split.test, evidence, stage_info, norms)
    outcomes = [bool(e.won) for e in test]
    if len({e.won for e in train}) < 2 or not test:
        return {"evaluated": False, "train_examples": len(train), "test_examples": len(test)}
    params = fit(train, norms)
    model = [predict(params, e) for e in test]
    table = [stage_info[e.stage_id].probability for e in test]
    return {
        "evaluated": True,
        "train_deals": len(split.train),
        "test_deals": len(split.test),
        "train_examples": len(train),
        "test_examples": len(test),
        "test_from": split.cut.isoformat(),
        "brier": round(brier(model, outcomes), 4),
        "brier_stage_table": round(brier(table, outcomes), 4),
        "auc": _round(auc(model, outcomes)),
        "auc_stage_table": _round(auc(table, outcomes)),
        "calibration": calibration(model, outcomes),
        "calibration_stage_table": calibration(table, outcomes),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --- training a version ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Training:
    """What one retrain did: trained (a new version), already (this version exists) or too_few (history)."""

    outcome: str
    closed: int
    won: int
    lost: int
    model: WinModel | None = None

    def describe(self) -> str:
        if self.outcome == "too_few":
            return (
                f"已结商机 {self.closed} 个（赢 {self.won}、输 {self.lost}），不足 {MIN_CLOSED} 个"
                f"或赢、输各不足 {MIN_EACH} 个，继续使用阶段赢率表"
            )
        assert self.model is not None
        m = self.model.metrics
        verdict = "已启用" if self.model.in_use else "未启用（留出集上不如阶段赢率表），继续使用阶段赢率表"
        head = "版本已存在" if self.outcome == "already" else "已训练"
        figures = (
            f"；留出的较新 {m['test_deals']} 个已结商机上 Brier {m['brier']:.3f}（阶段表 {m['brier_stage_table']:.3f}）"
            if m.get("evaluated")
            else "；较新的已结商机不足以评估"
        )
        return f"赢单概率模型 {self.model.version} {head}，基于 {self.closed} 个已结商机{figures}，{verdict}"


def closed_counts(deals: Iterable[DealHistory]) -> tuple[int, int, int]:
    statuses = [d.status for d in deals if d.status is not OpportunityStatus.OPEN]
    won = sum(1 for s in statuses if s is OpportunityStatus.WON)
    return len(statuses), won, len(statuses) - won


def _version(deals: Sequence[DealHistory], stage_info: dict[int, StageInfo], day: str) -> str:
    digest = hashlib.sha256()
    for d in deals:
        digest.update(f"{d.id}:{d.status.value}:{d.closed_at}:{len(d.stays)};".encode())
    for s in sorted(stage_info.values(), key=lambda s: s.id):
        digest.update(f"{s.id}:{s.probability};".encode())
    return f"{day}-{digest.hexdigest()[:8]}"


def retrain(session: Session, now: datetime, business_day: str) -> Training:
    """Train a version on the closed deals if there are enough and this exact history has no version yet.

    Idempotent by version (the business day and a digest of the closed deals and the stage table): a second
    run on the same history does nothing. The new version is used only if it beat the stage table's Brier score
    on the held-out newer closes; the one used before stays in use otherwise.
    """
    deals, evidence = load_deals(session, Opportunity.status != OpportunityStatus.OPEN)
    closed, won, lost = closed_counts(deals)
    if closed < MIN_CLOSED or won < MIN_EACH or lost < MIN_EACH:
        return Training("too_few", closed, won, lost)
    stage_info = stages(session)
    version = _version(deals, stage_info, business_day)
    existing = session.scalar(select(WinModel).where(WinModel.version == version))
    if existing is not None:
        return Training("already", closed, won, lost, existing)
    metrics = evaluate(deals, evidence, stage_info)
    norms = stage_norms(deals, stage_info)
    params = fit(training_examples(deals, evidence, stage_info, norms), norms)
    metrics.update(closed_deals=closed, won=won, lost=lost)
    better = bool(metrics.get("evaluated")) and metrics["brier"] < metrics["brier_stage_table"]
    metrics["used"] = better
    if better:
        session.execute(update(WinModel).where(WinModel.in_use.is_(True)).values(in_use=False))
    model = WinModel(version=version, trained_at=now, params=params, metrics=metrics, in_use=better)
    session.add(model)
    session.flush()
    return Training("trained", closed, won, lost, model)


def model_in_use(session: Session) -> WinModel | None:
    return session.scalar(select(WinModel).where(WinModel.in_use.is_(True)).order_by(WinModel.id.desc()).limit(1))


def latest_model(session: Session) -> WinModel | None:
    return session.scalar(select(WinModel).order_by(WinModel.id.desc()).limit(1))


# --- a deal's probability ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    text: str  # Chinese
    weight: float  # log-odds contribution: > 0 raises the probability


@dataclass(frozen=True)
class WinProbability:
    opportunity_id: int
    probability: float  # 0..1
    stage_probability: float  # the stage table's
    source: str  # "model" or "stage_table"
    version: str | None
    reasons: list[Reason]
    note: str  # Chinese: where the figure comes from

    @property
    def percent(self) -> int:
        return round(self.probability * 100)

    @property
    def stage_percent(self) -> int:
        return round(self.stage_probability * 100)


def _reason_text(name: str, facts: dict[str, Any], example: Example) -> str | None:
    if name == "stage":
        return f"所处阶段「{facts['stage_name']}」"
    if name == "stay":
        return f"在「{facts['stage_name']}」已 {facts['days_in']:.0f} 天（常规约 {facts['norm']:.0f} 天）"
    if name in ("emotion", "emotion_trend"):
        if not facts["touches"]:
            return "还没有触点记录"
        level = example.numeric["emotion"]
        word = "偏积极" if level >= 0.8 else "偏抵触" if level < 0.5 else "中性"
        trend = example.numeric["emotion_trend"]
        move = "，且在走低" if trend < 0 else "，且在好转" if trend > 0 else ""
        return f"最近 {facts['touches']} 次触点情绪{word}{move}"
    if name == "chain":
        return f"决策链近 {CHAIN_DAYS} 天接触了 {facts['chain']}/4 个角色"
    if name == "veto":
        return f"近 {CHAIN_DAYS} 天{'已' if example.numeric['veto'] else '未'}接触否决者"
    if name == "tickets_late":
        if not facts["due_parts"]:
            return None
        return f"协同单 {facts['due_parts']} 项中 {facts['late_parts']} 项超时响应"
    if name == "rhythm":
        return f"近 {RHYTHM_DAYS} 天有 {facts['rhythm']} 次触点"
    if name == "quiet":
        return "从未联系过客户" if facts["quiet"] is None else f"距上次联系 {facts['quiet']:.0f} 天"
    if name == "amount":
        return f"金额 {facts['amount_wan']:.0f} 万元"
    category = name.partition("=")[0]
    label = {"product_line": "产品线", "kind": "客户类型", "grade": "客户等级"}[category]
    actual = example.category[category]
    return f"{label}「{KIND_LABEL.get(actual, actual) if category == 'kind' else actual}」"


def reasons_for(params: dict[str, Any], example: Example, top: int = TOP_REASONS) -> list[Reason]:
    """The largest contributions (coefficient × standardised feature), one reason per thing said."""
    _, parts = _contributions(params, example)
    vocab = params["vocabulary"]
    # Of the one-hot columns only the deal's own category speaks for it.
    own = {f"{c}={example.category[c] if example.category[c] in vocab[c] else OTHER}" for c in CATEGORICAL}
    parts = [(n, w) for n, w in parts if "=" not in n or n in own]
    out: list[Reason] = []
    said: set[str] = set()
    for name, weight in sorted(parts, key=lambda p: -abs(p[1])):
        if abs(weight) < 0.05:
            break
        text = _reason_text(name, example.facts, example)
        if text is None or text in said:
            continue
        said.add(text)
        out.append(Reason(text, round(weight, 3)))
        if len(out) >= top:
            break
    return out


def _stage_table(opp_id: int, stage: StageInfo, note: str) -> WinProbability:
    return WinProbability(opp_id, stage.probability, stage.probability, STAGE_TABLE, None, [], note)


def fallback_note(session: Session) -> str:
    latest = latest_model(session)
    if latest is not None:
        return f"模型 {latest.version} 在较新的已结商机上不如阶段赢率表，按阶段赢率表计"
    tally = dict(
        session.execute(
            select(Opportunity.status, func.count())
            .where(Opportunity.status != OpportunityStatus.OPEN)
            .group_by(Opportunity.status)
        ).all()
    )
    won, closed = tally.get(OpportunityStatus.WON, 0), sum(tally.values())
    if closed >= MIN_CLOSED and won >= MIN_EACH and closed - won >= MIN_EACH:
        # enough history, but the hourly job has not trained yet (e.g. in the first hour after a start)
        return f"已结商机 {closed} 个，模型尚未训练（每小时检查一次），暂按阶段赢率表计"
    return f"已结商机不足 {MIN_CLOSED} 个（赢、输各至少 {MIN_EACH} 个）前，按阶段赢率表计"


def win_probabilities(session: Session, opportunity_ids: Iterable[int], now: datetime) -> dict[int, WinProbability]:
    """The probability of each open deal (closed or unknown ids are left out): the model in use, else the table."""
    ids = sorted(set(opportunity_ids))
    if not ids:
        return {}
    stage_info = stages(session)
    model = model_in_use(session)
    if model is None:
        note = fallback_note(session)
        rows = session.execute(
            select(Opportunity.id, Opportunity.stage_id).where(
                Opportunity.id.in_(ids), Opportunity.status == OpportunityStatus.OPEN
            )
        )
        return {i: _stage_table(i, stage_info[s], note) for i, s in rows if s in stage_info}
    params = model.params
    norms = norms_of(params)
    closed_count = model.metrics.get("closed_deals", 0)
    note = f"模型 {model.version}，学自本公司 {closed_count} 个已结商机"
    deals, evidence = load_deals(session, Opportunity.id.in_(ids), Opportunity.status == OpportunityStatus.OPEN)
    out = {}
    for deal in deals:
        example = current_example(deal, evidence, stage_info, norms, now)
        if example is None:
            continue
        out[deal.id] = WinProbability(
            deal.id,
            predict(params, example),
            stage_info[example.stage_id].probability,
            MODEL,
            model.version,
            reasons_for(params, example),
            note,
        )
    return out


def win_probability(session: Session, actor: User, opportunity_id: int, now: datetime) -> WinProbability:
    """One deal in the actor's scope; a closed deal is certain (100 % or 0 %)."""
    opp = opportunity_for(session, actor, opportunity_id)
    if opp.status is not OpportunityStatus.OPEN:
        won = opp.status is OpportunityStatus.WON
        return WinProbability(opp.id, 1.0 if won else 0.0, 1.0 if won else 0.0, STAGE_TABLE, None, [], "商机已结束")
    found = win_probabilities(session, [opp.id], now).get(opp.id)
    if found is None:  # in a stage the table does not know as open: say the stage's own figure
        stage = StageInfo(opp.stage.id, opp.stage.name, (opp.stage.win_probability or 0) / 100, True)
        return _stage_table(opp.id, stage, fallback_note(session))
    return found


def describe(probability: WinProbability, title: str) -> str:
    """The chat's 诊断 block for one deal (Chinese, a few lines)."""
    head = f"商机「{title}」赢单概率 {probability.percent}%"
    if probability.source == MODEL:
        head += f"（阶段赢率表 {probability.stage_percent}%）"
    lines = [head, f"  依据：{probability.note}"]
    for reason in probability.reasons:
        lines.append(f"  {'↑' if reason.weight > 0 else '↓'} {reason.text}")
    return "\n".join(lines)
