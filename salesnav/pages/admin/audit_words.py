"""The audit trail in words an admin reads: 「商机 #12 · 阶段变更 · 阶段：需求确认 → 方案演示」, not
`opportunity #12 stage_change {"stage": ...}`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from salesnav.handlers.rules.validation import SPECS

ENTITIES = {
    "stage": "阶段",
    "checklist_item": "检查清单项",
    "department": "部门",
    "user": "成员",
    "material": "素材",
    "inbound_message": "收到的消息",
    "excel_import": "Excel 导入",
    "opportunity": "商机",
    "payment": "回款",
    "rule_setting": "规则设置",
    "touchpoint": "触点",
    "task": "待办",
    "approval": "审批",
    "credit_waiver": "审批解冻",
    "admin_account": "管理员账号",
    "customer": "客户",
    "outbound_message": "发出的消息",
    "collaboration_ticket": "协同单",
    "journey": "客户旅程",
}
ACTIONS = {
    "create": "新建",
    "update": "修改",
    "retire": "停用",
    "sync_create": "通讯录同步新增",
    "sync_update": "通讯录同步更新",
    "sync_deactivate": "通讯录同步停用",
    "reprocess": "重新处理",
    "commit": "确认导入",
    "follow_up_restored": "恢复最后跟进时间",
    "stage_change": "阶段变更",
    "complete": "完成",
    "lift_freeze": "解除冻结",
    "freeze": "冻结",
    "approval_freeze": "审批冻结",
    "approval_unfreeze": "解除审批冻结",
    "health_change": "健康度变化",
    "owner_change": "更换负责人",
    "reassign": "转交",
    "handover_deactivate": "交接后停用",
    "sync_retire": "通讯录同步停用",
    "resend": "重发",
    "close": "关闭",
    "undo": "撤销",
    "pool.warned": "公海预警",
    "pool.warning_cancelled": "已跟进，取消退回公海",
    "pool.returned": "退回公海",
    "pool.claimed": "领取公海客户",
    "pool.assigned": "分配公海客户",
    "activate": "启用",
    "deactivate": "暂停",
    "archive": "归档",
    "delete": "删除",
}
FIELDS = {
    "active": "在职",
    "amount_fen": "金额",
    "expected_amount_fen": "预计金额",
    "attachment_id": "附件",
    "attachments": "附件",
    "code": "编码",
    "customer_id": "客户",
    "customer_kind": "客户类型",
    "deleted_at": "删除时间",
    "department_id": "部门",
    "email": "邮箱",
    "kind": "类型",
    "type": "类型",
    "last_touchpoint_id": "推进依据触点",
    "touchpoint_id": "触点",
    "manager_id": "直属主管",
    "head_id": "部门负责人",
    "mobile": "手机",
    "name": "名称",
    "owner_id": "负责人",
    "warning_id": "公海预警编号",
    "entry_id": "公海编号",
    "return_at": "退回公海时间",
    "position": "顺序",
    "product_line": "产品线",
    "required": "必填",
    "retired_at": "停用时间",
    "role": "角色",
    "stage": "阶段",
    "stage_code": "阶段",
    "stage_id": "阶段",
    "status": "状态",
    "tags": "标签",
    "title": "标题",
    "url": "链接",
    "userid": "企业微信账号",
    "wecom_id": "企业微信部门",
    "win_probability": "赢单概率",
    "emotion": "情绪",
    "summary": "纪要",
    "next_action": "下一步",
    "next_action_due": "下一步时间",
    "contact_ids": "在场联系人",
    "number": "发票号",
    "receivable_id": "应收",
    "corrected": "已更正",
    "username": "用户名",
    "user_id": "成员",
    "health": "健康度",
    "approval_frozen": "审批冻结",
    "reason": "理由",
    "assignee_id": "负责人",
    "attempts": "尝试次数",
    "parent_id": "上级部门",
    "successor_id": "接替人",
    "excel_import_id": "Excel 导入",
    "rule": "规则",
    "closed": "已关闭",
    "retired": "已停用",
    "undone": "已撤销",
    "ticket_notice_user_ids": "协同单通知成员",
    "version": "版本",
    "exited": "移出旅程的客户",
}
# A field whose word depends on what changed (a member's `active` is 在职, a journey's is 启用).
ENTITY_FIELDS = {"journey": {"active": "启用"}}
VALUES = {
    "silent": "长期未跟进",
    "owner_left": "负责人已离职",
    "rep": "销售",
    "manager": "销售主管",
    "director": "销售总监",
    "dept_head": "部门负责人",
    "admin": "管理员",
    "open": "进行中",
    "done": "已完成",
    "cancelled": "已取消",
    "previewed": "已预览",
    "queued": "排队中",
    "won": "赢单",
    "lost": "输单",
    "green": "绿灯",
    "yellow": "黄灯",
    "red": "红灯",
    "failed": "发送失败",
    "sent": "已发送",
}


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def entity_label(kind: str) -> str:
    return ENTITIES.get(kind, "记录")


def action_label(action: str) -> str:
    return ACTIONS.get(action, "变更")


def _value(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_value(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{_field(k)}：{_value(v)}" for k, v in value.items())
    return VALUES.get(str(value), str(value))


def _field(key: str) -> str:
    if key in FIELDS:
        return FIELDS[key]

    spec = SPECS.get(key)
    return spec.label if spec is not None else "其他"


# The fields that hold a member's id, and those that hold a stage's code: shown by name where the page knows it.
PEOPLE_FIELDS = frozenset(
    {"owner_id", "assignee_id", "manager_id", "head_id", "successor_id", "user_id", "rep_id", "created_by_id"}
)
STAGE_FIELDS = frozenset({"stage", "stage_code", "to_stage", "from_stage"})


@dataclass(frozen=True)
class Names:
    """What a page knows to show ids and codes by: members (id → name), stages (code → name)."""

    people: dict[int, str] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)


def _value_of(key: str, value: Any, names: Names | None = None) -> str:
    if key.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
        return f"¥{value / 100:,.2f}"
    if names is not None and key in PEOPLE_FIELDS and isinstance(value, int) and value in names.people:
        return names.people[value]
    if names is not None and key in STAGE_FIELDS and isinstance(value, str) and value in names.stages:
        return names.stages[value]
    return _value(value)


def people_ids(entries: Any) -> set[int]:
    """The members' ids audit entries name (who acted, and who they set as owner, assignee…)."""
    found = {e.actor_id for e in entries if e.actor_id}
    for e in entries:
        for values in (e.before or {}, e.after or {}):
            found |= {v for k, v in values.items() if k in PEOPLE_FIELDS and isinstance(v, int)}
    return found


def changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None, entity: str | None = None, names: Names | None = None
) -> list[Change]:
    """The fields that differ, each in Chinese; a creation lists what was set."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    own = ENTITY_FIELDS.get(entity or "", {})
    return [
        Change(own.get(k) or _field(k), _value_of(k, before.get(k), names), _value_of(k, after.get(k), names))
        for k in keys
        if before.get(k) != after.get(k)
    ]


INBOUND = {
    "text": "文字",
    "image": "图片",
    "voice": "语音",
    "file": "文件",
    "video": "视频",
    "location": "位置",
    "event": "事件",
}
EVENTS = {
    "click": "菜单点击",
    "template_card_event": "卡片按钮",
    "enter_agent": "进入应用",
    "change_external_contact": "客户联系变更",
    "view": "菜单链接",
}


def inbound_kind(msg_type: str, event: str | None) -> str:
    """「事件 · 卡片按钮」 for what WeCom calls event/template_card_event."""
    kind = INBOUND.get(msg_type, "其他消息")
    return f"{kind} · {EVENTS.get(event, '其他')}" if event else kind
