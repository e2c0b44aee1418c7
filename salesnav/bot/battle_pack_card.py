"""The battle pack as a WeCom markdown message (Chinese; within WeCom's 2,048-byte markdown limit).

Markdown rather than a template card: a card shows one title and a few short key/value rows, while
the pack needs three sentences with deadlines and a short explanation of the recommended lead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from salesnav.handlers.battle_pack import BattlePack
from salesnav.handlers.battle_pack.material import MaterialPick
from salesnav.handlers.battle_pack.ranking import Todo, TodoSource
from salesnav.handlers.deal_words import customer_and_deal
from salesnav.handlers.radar import link_token, link_url
from salesnav.handlers.rules.texts import how_long
from salesnav.settings import current_settings

LIMIT_BYTES = 2000  # WeCom allows 2,048; keep a margin
WEEKDAYS = "一二三四五六日"


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(moment: datetime, today: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    if local.date() == today.date():
        return f"{local:%H:%M}"
    if local.date() == (today + timedelta(days=1)).date():
        return f"明天{local:%H:%M}"
    return f"{local.month}月{local.day}日{local:%H:%M}"


def todo_line(todo: Todo, now: datetime, tz: ZoneInfo, *, markdown: bool = True) -> str:
    """「李总(华山医院设备科)需在15:00前发送CT球管更换成本测算表」; `markdown`: an overdue line in warning colour."""
    who, action = todo.who, todo.action
    if todo.deadline is None:
        return f"{who}：{action}" if who else action
    if todo.is_overdue(now):
        # A silent deal already says how long it has been silent; twice would read as noise.
        late = "" if todo.source is TodoSource.FOLLOW_UP else f"（已逾期 {how_long(now - todo.deadline)}）"
        line = f"{who + '：' if who else ''}{action}{late}"
        return f'<font color="warning">{line}</font>' if markdown else line
    when = _when(todo.deadline, now.astimezone(tz), tz)
    return f"{who}需在{when}前{action}" if who else f"需在{when}前{action}"


def material_link(material: MaterialPick) -> str | None:
    """Our own /materials/<id> (the file we keep, or the address it stands for), when phones can reach us."""
    base = current_settings().public_url
    if not base or (material.attachment_id is None and not material.url):
        return None
    return f"{base}/materials/{material.material_id}"


def render_markdown(pack: BattlePack, tz: ZoneInfo, *, on_demand: bool = False, working_hours: bool = True) -> str:
    """`working_hours`: False for a pack asked for in the evening or on a day off, which is not 「今日作战包」."""
    day = pack.day
    name = "今日作战包" if working_hours else "我的作战包"
    head = f"**{name}** · {day.month}月{day.day}日 周{WEEKDAYS[day.weekday()]}"
    if on_demand:
        head += f"（截至 {pack.as_of.astimezone(tz):%H:%M}）"
    lines = [head]
    if pack.todos:
        lines.append(f"{pack.rep_name}，今天最重要的 {len(pack.todos)} 件事：")
        lines += [f">{i}. {todo_line(t, pack.as_of, tz)}" for i, t in enumerate(pack.todos, 1)]
    else:
        lines.append(f"{pack.rep_name}，今天没有到期的待办或超时未跟进的商机，保持节奏！")
    lines.append("")
    lead = pack.lead
    optional: list[str] = []
    if lead is None:
        lines.append("**推荐复盘线索**：暂无可对照相似赢单路径的进行中商机")
    else:
        lines.append(
            f"**推荐复盘线索**：{customer_and_deal(lead.customer_name, lead.title)}"
            f"（{lead.stage_name}，{lead.amount_fen / 1_000_000:,.1f}万元）"
        )
        lines.append(f"相似依据：{lead.similarity}")
        path = f"赢单路径：{lead.path_text}"
        lines.append(path)
        optional.append(path)
        stay = f"在「{lead.stage_name}」已停留 {lead.days_in_stage:.0f} 天"
        if lead.won_days_in_stage is not None:
            stay += f"，相似赢单平均 {lead.won_days_in_stage:.0f} 天"
        if lead.lagging:
            gap = (
                f"落后 {lead.lag_days:.0f} 天"
                if lead.won_days_in_stage is not None
                else (f"已超过相似赢单的平均成交周期 {lead.lag_days:.0f} 天")
            )
            lines.append(f'落后之处：<font color="warning">{stay}，{gap}</font>')
        else:
            lines.append(f"进度：{stay}，节奏正常")
        suggestion = f"建议：{lead.suggestion}"
        lines.append(suggestion)
        optional.append(suggestion)
    lines.append("")
    material = pack.material
    if material is None:
        lines.append("**可复用素材**：素材库暂无匹配的素材")
    else:
        title = _cut(material.title, 40)
        url = material_link(material)
        link = f"[{title}]({url})" if url else f"「{title}」"
        lines.append(f"**可复用素材**：{link}")
        lines.append(material.reason)
        if material.customers and current_settings().public_url:
            share = "　".join(
                f"[{_cut(name, 16)}]({link_url(link_token(material.material_id, customer_id, pack.rep_id))})"
                for customer_id, name in material.customers
            )
            shared = f"转发给客户（打开、阅读会通知您）：{share}"
            lines.append(shared)
            optional.insert(0, shared)  # over budget, the share links go before the explanation's extras
    text = "\n".join(lines)
    for line in optional:  # over budget: the explanation's extras go first, never the todos
        if len(text.encode()) <= LIMIT_BYTES:
            break
        lines.remove(line)
        text = "\n".join(lines)
    while len(text.encode()) > LIMIT_BYTES:
        text = text[:-20]
    return text
