"""回款计划 and 回款 in the chat: enter a won deal's contract and instalment plan, see it, record a payment.

- 「回款计划 瑞金医院 100万 签约3月2日 30万 3月31日 60万 9月30日 10万 2027-03-31」: the contract amount, the
  signing day (签约…; today when left out), then each instalment's amount and due date. A due date without its
  year falls on or after the one before it (the first: on or after signing); a signing day without its year is
  the latest not after today. The deal is the customer's won deal (the latest won without a contract when
  there are several). Sent again, it changes the plan (handlers/contracts.save_contract keeps what was paid).
  The contract's end date may come anywhere after the customer: 到期2027年3月1日 (without its year: the first
  such day after signing); left out, the end date already entered stays.
- 「合同到期 瑞金医院 2027年3月1日」: the end date alone (老客户续费前3个月 and the journeys entered by it count
  from it), on the customer's latest contract; 「合同到期 瑞金医院 不填」 clears it; 「合同到期 瑞金医院」 says it.
- 「回款计划 瑞金医院」: the plan and where each instalment stands.
- 「回款 瑞金医院 30万」: a payment received, settling the oldest open instalment first (the invoice photo is
  the other way in: it records the invoice's payment on the receivable the rep confirms).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.bot.router import Incoming
from salesnav.handlers import contracts
from salesnav.handlers.contracts import ContractView, PlannedInstalment
from salesnav.handlers.customers import find_by_name
from salesnav.handlers.errors import DomainError
from salesnav.handlers.money import fen_to_yuan_text
from salesnav.models import Contract, Customer, User
from salesnav.settings import current_settings
from salesnav.text.cn_dates import DATE_PATTERN, amount_fen, mention

PLAN_WORDS = ("回款计划", "合同计划")
PAY_WORDS = ("回款", "登记回款")
END_WORDS = ("合同到期", "合同到期日")
CLEAR_WORDS = ("不填", "清除", "无")
EXAMPLE = contracts.PLAN_EXAMPLE
END_EXAMPLE = "合同到期 瑞金医院 2027年3月1日"


def claim(incoming: Incoming) -> bool:
    """Whether this text is 回款计划 or 回款 (then answered here)."""
    if incoming.message.msg_type != "text" or incoming.user is None:
        return False
    words = (incoming.message.get("Content") or "").split()
    if not words or words[0] not in PLAN_WORDS + PAY_WORDS + END_WORDS:
        return False
    session, user = incoming.session, incoming.member
    if len(words) < 2:
        if words[0] in END_WORDS:
            incoming.reply_text(f"请写明客户和到期日，例如：{END_EXAMPLE}")
        else:
            incoming.reply_text(f"请写明客户，例如：{EXAMPLE}；或「回款 瑞金医院 30万」登记一笔回款。")
        return True
    customer = find_by_name(session, user, words[1])
    if words[0] in END_WORDS:
        incoming.reply_text(_contract_end(session, user, customer, words[2:]))
        return True
    if words[0] in PAY_WORDS:
        incoming.reply_text(_pay(session, user, customer, words[2:]))
        return True
    if len(words) == 2:
        incoming.reply_text(_show(session, user, customer))
        return True
    deal = contracts.won_deal_for_plan(session, user, customer)
    amount, signed, plan, ends_on = parse_plan(words[2:], _today())
    contracts.save_contract(
        session, user, deal.id, amount_fen=amount, signed_on=signed, plan=plan, ends_on=ends_on or contracts.KEEP
    )
    _, view = contracts.contract_for_deal(session, user, deal.id)
    assert view is not None
    incoming.reply_text(
        f"✅ 已录入「{deal.title}」的回款计划。\n{_lines(view)}\n到期前会提醒您；逾期会提醒您并告知主管。"
    )
    return True


def _today() -> date:
    return clock.now().astimezone(current_settings().business_tz).date()


def _day(token: str, after: date | None, before: date | None) -> date | None:
    """A written day; without a year: on or after `after`, or else the latest on or before `before`."""
    match = DATE_PATTERN.search(token)
    if match is None:
        return None
    found = mention(match, before or after or _today())
    if found is None:
        return None
    if found.full:
        return found.full
    reference = after or before or _today()
    for year in (reference.year, reference.year + 1) if after else (reference.year, reference.year - 1):
        day = found.on(year)
        if day is not None and (day >= after if after else before is None or day <= before):
            return day
    return None


def parse_plan(tokens: list[str], today: date) -> tuple[int, date, list[PlannedInstalment], date | None]:
    """The contract amount, the signing day, the instalments and the end date (None: not given) from the words
    after the customer."""
    signed, rest, end_token = today, [], ""
    for token in tokens:
        if token.startswith(("合同到期", "到期")):
            end_token = token
        elif token.startswith("签约"):
            day = _day(token.removeprefix("签约"), None, today)
            if day is None:
                raise DomainError(f"签约日期「{token}」无法识别，例如：签约3月2日 或 签约2026-03-02")
            signed = day
        else:
            rest.append(token)
    if not rest or (amount := amount_fen(rest[0])) is None:
        raise DomainError(f"请先写合同金额，例如：{EXAMPLE}")
    pairs = rest[1:]
    if not pairs:
        raise DomainError(f"请写出每一期的金额和到期日，例如：{EXAMPLE}")
    if len(pairs) % 2:
        raise DomainError(f"每一期都要写金额和到期日（成对出现），例如：{EXAMPLE}")
    plan, previous = [], signed
    for n in range(len(pairs) // 2):
        money, when = pairs[2 * n], pairs[2 * n + 1]
        fen = amount_fen(money)
        if fen is None:
            raise DomainError(f"第 {n + 1} 期金额「{money}」无法识别，例如 30万")
        due = _day(when, previous, None)
        if due is None:
            raise DomainError(f"第 {n + 1} 期到期日「{when}」无法识别，例如 3月31日 或 2026-03-31")
        plan.append(PlannedInstalment(fen, due))
        previous = due
    return amount, signed, plan, _end_day(end_token, signed) if end_token else None


def _end_day(token: str, signed: date) -> date:
    """到期2027年3月1日 (合同到期… too) → the day; without its year, the first such day after signing."""
    written = token.removeprefix("合同到期").removeprefix("到期").removeprefix("日").lstrip("：:")
    day = _day(written, signed + timedelta(days=1), None)
    if day is None:
        raise DomainError(f"合同到期日「{token}」无法识别，例如：到期2027年3月1日 或 到期2027-03-01")
    return day


def _contract_end(session: Session, user: User, customer: Customer, tokens: list[str]) -> str:
    deal, contract = contracts.contract_for_customer(session, user, customer)
    if not tokens:
        if contract.ends_on is None:
            return f"「{deal.title}」的合同还没有填到期日。填写示例：{END_EXAMPLE}"
        return f"「{deal.title}」的合同 {_date(contract.ends_on)}到期。"
    if tokens[0] in CLEAR_WORDS:
        contracts.set_contract_end(session, user, deal.id, None)
        return f"✅ 已清除「{deal.title}」的合同到期日：续费期按签约后的默认合同期估算。"
    day = _day(tokens[0], contract.signed_on + timedelta(days=1), None)
    if day is None:
        raise DomainError(f"到期日「{tokens[0]}」无法识别，例如：{END_EXAMPLE}")
    contracts.set_contract_end(session, user, deal.id, day)
    return f"✅ 已记下「{deal.title}」的合同 {_date(day)}到期：客户进入「老客户续费前3个月」的时间按这一天计算。"


def _date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _lines(view: ContractView) -> str:
    head = f"合同额 {fen_to_yuan_text(view.amount_fen)}，签约 {view.signed_on.month}月{view.signed_on.day}日"
    if view.ends_on is not None:
        head += f"，{_date(view.ends_on)}到期"
    lines = [head]
    for i in view.instalments:
        due = i.due_date
        money = fen_to_yuan_text(i.amount_fen)
        lines.append(f"第 {i.instalment_no} 期 {money}，{due.year}年{due.month}月{due.day}日到期｜{i.status}")
    return "\n".join(lines)


def _show(session: Session, user: User, customer: Customer) -> str:
    views = []
    for deal_id in session.scalars(select(Contract.opportunity_id).where(Contract.customer_id == customer.id)):
        try:
            deal, view = contracts.contract_for_deal(session, user, deal_id)
        except DomainError:
            continue
        if view is not None:
            views.append(f"【{deal.title}】\n{_lines(view)}")
    if not views:
        return f"客户「{customer.name}」还没有回款计划。录入示例：{EXAMPLE}"
    return "\n\n".join(views)


def _pay(session: Session, user: User, customer: Customer, tokens: list[str]) -> str:
    fen = amount_fen(tokens[0]) if tokens else None
    if fen is None:
        raise DomainError("请写明回款金额，例如：回款 瑞金医院 30万")
    payments = contracts.record_payment(session, user, customer_id=customer.id, amount_fen=fen)
    settled = []
    for p in payments:
        r = p.receivable
        what = f"第 {r.instalment_no} 期" if r.instalment_no else f"{r.due_date.month}月{r.due_date.day}日到期的应收"
        settled.append(f"{what} {fen_to_yuan_text(p.amount_fen)}")
    return f"✅ 已登记「{customer.name}」回款 {fen_to_yuan_text(fen)}：冲抵" + "、".join(settled) + "。"
