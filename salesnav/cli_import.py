"""What `salesnav import-excel` prints: a few Chinese lines a person reads (the JSON is behind --json)."""

from __future__ import annotations

from typing import Any

from salesnav.handlers.excel_import.plan import ImportPlan
from salesnav.models import ExcelImport, ImportStatus

SHOWN = 8  # items per list; the rest are counted (all of them are in --json and the failed-rows file)


def _listed(title: str, lines: list[str]) -> list[str]:
    if not lines:
        return []
    more = [f"  …另有 {len(lines) - SHOWN} 条（完整内容见 --json）"] if len(lines) > SHOWN else []
    return [f"{title}："] + [f"  {line}" for line in lines[:SHOWN]] + more


def _where(item: dict[str, Any]) -> str:
    return f"{item['sheet']} 第{item['row']}行"


def describe_plan(filename: str, plan: ImportPlan) -> str:
    s = plan.summary()
    lines = [
        f"「{filename}」（按文件日期 {plan.reference.isoformat()} 推算日期）共 {s['rows']} 行："
        f"新客户 {s['new_customers']}，已有客户 {s['matched_customers']}，触点 {s['touchpoints']}，"
        f"商机 {s['opportunities']}"
    ]
    if plan.blocking:
        lines.append(f"无法导入：{plan.blocking}")
    lines += _listed(
        "同一客户（已合并）",
        [
            f"{_where(m)}「{m['name']}」并入"
            f"{'' if m['into_sheet'] == m['sheet'] else m['into_sheet'] + ' '}第{m['into_row']}行「{m['into']}」"
            f"（{m['by_label']}）；分开用 --match {m['name']}=split"
            for m in plan.merges()
        ],
    )
    lines += _listed(
        "其他同事的客户（不会重复建档）",
        [
            f"「{t['existing_name']}」归属{t['owner']}（第{'、'.join(map(str, t['rows']))}行）："
            f"默认申请转交、暂不写入；记在其名下用 --match {t['name']}=log，不导入用 --match {t['name']}=skip"
            for t in plan.taken()
        ],
    )
    lines += _listed(
        "疑似重复（默认建新客户）",
        [
            f"「{n['name']}」像「{n['candidates'][0]['name']}」（相似度 {n['candidates'][0]['score']}）："
            f"合并用 --match {n['name']}={n['candidates'][0]['customer_id']}"
            for n in plan.near_misses()
            if n["candidates"]
        ],
    )
    lines += _listed("将跳过的行", [f"{_where(e)} {e['reason']}" for e in plan.errors])
    lines += _listed("提示", [f"{_where(n)} {n['note']}" for n in plan.notes])
    return "\n".join(lines)


def describe_result(imp: ExcelImport) -> str:
    if imp.status is not ImportStatus.DONE:
        return f"「{imp.filename}」导入未完成：{imp.message or imp.status.label}"
    c = imp.counts
    lines = [
        f"「{imp.filename}」导入完成（导入编号 {imp.id}）：新建客户 {c.get('customers', 0)}，"
        f"联系人 {c.get('contacts', 0)}，触点 {c.get('touchpoints', 0)}，商机 {c.get('opportunities', 0)}；"
        f"未导入 {len(imp.errors)} 行，提示 {len(imp.notes)} 条"
    ]
    lines += _listed("未导入", [f"{_where(e)} {e['reason']}" for e in imp.errors])
    lines += _listed("提示", [f"{_where(n)} {n['note']}" for n in imp.notes])
    return "\n".join(lines)
