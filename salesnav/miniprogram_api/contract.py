"""The API as a contract a front-end engineer can build against without reading our code.

flask-smorest derives the OpenAPI document from the marshmallow schemas; this module adds what a schema cannot
say, once, for every operation (`enrich`, applied each time /api/v1/openapi.json is served or printed):

- a glossary of the domain's words and the conventions (codes with labels, money in fen, times, pages, errors);
- `servers`;
- the error answers each operation can give — 401/403 when it needs a token, 404 when its path names a record,
  409 where a state can refuse it, 422 when it takes input — each with the Chinese error body as an example;
- a description for every operation and every property (by its name: `PROPERTY_WORDS`), and an example for
  every request body and 2xx answer (written ones where the schema carries them, otherwise built from the
  schema's own property examples).

tests/miniprogram_api/test_contract.py holds every operation, today's and tomorrow's, to these rules.
"""

from __future__ import annotations

import copy
import re
from typing import Any

API_PREFIX = "/api/v1"

GLOSSARY = """销售导航仪（SalesNav）的销售、主管、总监和各部门在企业微信小程序与 H5 客户端里使用的接口。

## 约定

- **登录**：除 `POST /auth/login`、`POST /auth/page-session` 外，每个请求都带 `Authorization: Bearer <token>`。
  令牌 7 天有效；过期或无效时回答 401，客户端重新登录即可。离职或未开通的成员回答 403。
- **编码与中文名**：枚举类字段一律传英文编码（如 `type: "visit"`），回答里同时给出中文名
  （`type_label: "面访"`）。界面显示 `*_label`，程序判断用编码；客户端无需自备中文名对照表。
- **金额**：请求与回答中的金额一律为整数，单位为**分**，字段名以 `_fen` 结尾（58 万元 = `58000000`）。
- **时间**：ISO 8601。回答带时区；请求中不带时区的时间按业务时区（北京时间）理解。
- **分页**：列表接口接受 `page`（从 1 开始）与 `per_page`（1–100，默认 20），
  回答 `{"items": [...], "page", "per_page", "total"}`。
- **错误**：一律为 `{"error": 稳定的错误码, "message": 给用户看的中文说明, ...细节}`，`message` 可直接展示。
  401 未登录；403 无权；404 记录不存在或不在您的可见范围（不区分二者）；409 当前状态不允许
  （如商机已关闭 `opportunity_closed`、审批已冻结 `approval_frozen`）；422 提交的内容有误，
  `fields` 按字段列出原因，检查清单未完成时为 `checklist_incomplete` 并列出 `missing`；429 请求过于频繁；
  503 识别引擎或财务系统暂不可用，稍后重试。
- **可见范围**：销售看到自己的客户与商机，主管看到团队的，总监与管理员看到全部。

## 名词

| 名词 | 含义 |
|---|---|
| 触点（touchpoint） | 一次与客户的接触：微信、面访、电话或展会，带情绪、在场联系人、纪要与下一步行动 |
| 有效触点 | 有在场联系人且约定了下一步行动的触点；管理指标只统计有效触点 |
| 决策链角色 | 联系人在采购中的角色：影响者、采购者、使用者、否决者 |
| 商机（opportunity） | 从触点创建的销售机会，有产品线、预计金额与当前阶段 |
| 阶段与检查清单 | 商机按阶段推进；进入每个阶段须提供该阶段检查清单的材料（文字、勾选或文件） |
| 审批冻结 | 大单进入合同审批时信用校验未通过，商机被冻结，须销售总监填写理由解除 |
| 协同单（ticket） | 商机进入样品测试时开启的跨部门协同，市场部与交付部各有一项任务与响应时限 |
| 赋能请求 | 销售向市场部申请行业白皮书、专家直播或定制化案例 |
| 预警与批注 | 规则发现的风险（如久未跟进）；主管以文字或语音批注，销售在企业微信收到 |
| 应收款与回款 | 财务登记的应收款；发票照片识别后确认，登记为一笔回款 |
| 健康度 | 客户的红黄绿灯；诊断给出原因与下一步建议 |
"""

# A description for every operation, keyed "METHOD /path" (without /api/v1). The summary says what; this says
# who may call it, what it changes and what to do next.
DESCRIPTIONS: dict[str, str] = {
    "POST /auth/login": "小程序中用 wx.qy.login 取得的 code 换取令牌（7 天有效）。code 无效或过期为 401，"
    "非企业成员或账号未开通为 403，企业微信不可达为 502。",
    "GET /me": "当前令牌对应的成员：姓名、角色（编码与中文名）、部门。客户端据角色决定显示哪些入口。",
    "GET /alerts": "主管看到团队成员的预警，销售看到自己的；默认只列未处理与已升级的。",
    "GET /alerts/{alert_id}": "预警本身及其全部批注（新的在前）。",
    "GET /annotations": "我写的、写给我的、以及写给我团队成员的批注，可按商机或触点筛选。",
    "POST /annotations": "主管及以上批注一条预警、商机或触点；文字或语音（先上传语音附件）至少其一。"
    "被批注的销售立即在企业微信收到。",
    "POST /attachments": "multipart 上传，字段名 file。类型按内容判断（图片、PDF、PPT/PPTX、语音），"
    "超过大小上限为 413，类型不支持为 415。返回的 id 用于触点、检查清单材料与协同回复。",
    "GET /attachments/{attachment_id}": "附件的文件名、类型、大小与摘要；只能查看自己可见记录上的附件。",
    "GET /attachments/{attachment_id}/content": "附件原始内容，Content-Type 为上传时识别的类型。",
    "GET /customers": "按名称关键字、拼音首字母（如 hsyy）或联系人手机号（可只输后几位）搜索我可见的客户。",
    "POST /customers": "新建客户（如展会线索），可同时添加联系人；同名客户已存在时提示而不重复建。",
    "GET /customers/{customer_id}": "客户资料、健康度、标签、生命周期阶段与联系人（含决策链角色）。",
    "GET /tags": "管理员在后台定义的客户标签。手动标签（kind=manual）可由看得到客户的人添加或去掉；"
    "规则标签（kind=rule）由系统按规则每几分钟计算，不能手动添加。",
    "POST /customers/{customer_id}/tags": "给我可见的客户加上一个手动标签（传编码或名称）。标签不存在为 404；"
    "规则标签不能手动添加，为 409。客户已有该标签时原样返回。",
    "DELETE /customers/{customer_id}/tags/{tag}": "去掉我可见客户的一个手动标签（路径中传编码或名称）。"
    "客户本来没有该标签时也回答 204；规则标签不能手动去掉，为 409。",
    "POST /customers/{customer_id}/contacts": "为我可见的客户添加联系人，可同时设定决策链角色。",
    "PATCH /contacts/{contact_id}": "只改传入的字段；decision_role 传 null 清空。人工设定的角色不再标为系统推测。",
    "GET /customers/{customer_id}/brief": "拜访前的简报，与企业微信推送的「拜访简报」同源："
    "相似商机（同产品线、同客户等级、同阶段）中最可能出现的三个异议及出现次数、赢单前的应对，"
    "未结事项，关键人与决策角色，本阶段最新话术；"
    "text 为与推送相同的文字。客户不在您的可见范围为 404。",
    "GET /customers/{customer_id}/diagnosis": "按情绪走势、决策链覆盖、阶段停留、协同与回款给出健康度、"
    "每项发现与下一步建议；每次调用计为一次诊断使用。",
    "GET /dashboards/team": "销售主管看自己团队（总监可用 manager 指定团队）：每位销售本周的甘特条与红色风险区块。"
    "数据结构与网页看板相同。",
    "GET /dashboards/me": "销售本人（主管可用 rep 指定下属）：今日作战包与本周进展。数据结构与网页看板相同。",
    "POST /imports": "multipart 上传（字段 file）。返回预览：识别出的列、疑似重复客户、将失败的行；"
    "确认（POST /imports/{id}/commit）之前不写入任何客户数据。同一文件已导入过时 already_imported 为 true。",
    "GET /imports/{import_id}": "导入的状态、进度百分比、各类记录数、失败行及原因。导入中时每隔一两秒查询一次即可。",
    "POST /imports/{import_id}/commit": "确认导入，可带列的更正（columns）与客户匹配的决定（matches）。"
    "导入在后台执行，立即回答 202，用 GET /imports/{id} 查看进度。",
    "POST /imports/{import_id}/undo": "撤销一次已完成的导入：只删除本次创建的记录，审计记录保留。",
    "GET /imports/{import_id}/failed.csv": "失败行及原因的 CSV（UTF-8 带 BOM，Excel 可直接打开；已防公式注入）。",
    "GET /materials": "已发布、未下架的素材；按产品线、阶段、客户类型筛选时，通用素材也会列出。",
    "POST /materials/{material_id}/links": "为我可见的客户（及其联系人）生成这份素材的雷达链接，30 天有效。"
    "客户打开、阅读（时长）和下载都记为该客户的行为事件，并在企业微信通知我；"
    "素材不存在或已下架、客户不可见、联系人不属于该客户为 404。",
    "POST /voice": "multipart 上传语音（字段 file，≤60 秒）。返回识别文字与触点草稿，"
    "销售确认或修改后用 POST /touchpoints 保存（guessed_fields 原样回传）。不会自动记录任何内容。",
    "POST /invoices/ocr": "multipart 上传发票照片（字段 file）。返回识别出的字段（金额为分）与各字段置信度，"
    "以及我可见客户中最可能对应的未结清应收款；此时不登记回款。",
    "POST /invoices/confirm": "确认（可修正）发票字段并登记为指定应收款的一笔回款。同一发票号只记一次："
    "重复确认原样返回 200；该发票已登记到其他应收款时为 409。",
    "GET /opportunities": "销售看到自己的商机，主管看到团队的；可按状态、阶段、客户、产品线筛选。",
    "POST /opportunities": "由一条触点建立商机：客户取自触点，从第一个阶段开始。金额为分。",
    "GET /opportunities/{opportunity_id}": "商机详情：当前阶段、冻结状态及原因、已提交的检查清单材料。",
    "GET /opportunities/{opportunity_id}/history": "每次阶段变更：谁、何时、从哪个阶段到哪个阶段、检查清单是否齐全、"
    "跳过理由。",
    "GET /qrcodes/scene/{scene}": "扫码后调用：返回要打开的表单、预填内容（客户、联系人、触点类型）"
    "和提交时要调用的接口。二维码无效为 400，过期为 410。",
    "GET /stages": "全部销售阶段（按顺序）及进入每个阶段需要的检查清单项。",
    "GET /tasks": "我的待办（主管：团队的），最近到期的在前，没有截止时间的在后。",
    "POST /tasks": "给自己或团队成员（主管）建待办。",
    "POST /tasks/{task_id}/complete": "完成一条自己的待办；已完成的再次完成不改变任何内容。",
    "GET /tickets": "与我相关的协同单：我的商机的，或有我部门任务的。",
    "GET /tickets/{ticket_id}": "协同单的各部门任务（状态、时限、回复）与赋能请求。",
    "POST /ticket-parts/{part_id}/answer": "只有任务所属部门的成员可以回复：市场部附材料或素材库素材，"
    "交付部确认排期与风险。其他人回复为 403。",
    "GET /opportunities/{opportunity_id}/contract": "赢单商机的合同与回款计划：每期应收、已回款、未回款与逾期天数；"
    "未录入合同时 contract 为 null，won 表示能否录入。",
    "POST /opportunities/{opportunity_id}/payments": "按分登记一笔回款，先冲抵到期最早的未回款一期，多出的冲抵下一期；"
    "超过未回款合计或没有未回款应收时为 400。回答更新后的合同与各期状态。",
    "GET /opportunities/{opportunity_id}/win-probability": "由本公司已结商机训练的模型给出赢单概率"
    "（已结商机不足时按阶段赢率表），并列出影响最大的原因，正数有利、负数不利。",
    "GET /pool": "长期未跟进或负责人已离职而退回公海的客户，以及我今天的领取额度；"
    "主管另得到可分配的销售名单（can_assign、assignees）。",
    "POST /pool/{entry_id}/claim": "销售领取一个公海客户，成为其负责人。超过每日或持有上限、"
    "原负责人在冷却期内领取时为 400，说明原因。",
    "POST /pool/{entry_id}/assign": "主管把公海客户分配给自己团队的销售（rep_id）。非主管、或该销售不在您的团队为 403；"
    "公海客户或销售不存在为 404。",
    "GET /today": "与企业微信里「今日作战包」同源：最多 5 条按优先级排好的待办、一个值得复盘的商机、一份推荐资料。",
    "GET /touchpoints": "销售看到自己的触点，主管看到团队的，总监看到全部；可按客户、商机、成员与时间筛选。",
    "POST /touchpoints": "记录一条触点。有在场联系人且有下一步行动的为有效触点。"
    "带上 form_opened_at 与 submitted_at，用于统计录入用时。",
    "GET /touchpoints/{touchpoint_id}": "触点详情：在场联系人、附件、是否有效触点。",
    "PATCH /touchpoints/{touchpoint_id}": "只改传入的字段；只能修改自己记录的触点，修改留痕。",
}

_EXAMPLE_401 = {"error": "unauthorized", "message": "登录已过期，请重新进入小程序"}
_EXAMPLE_403 = {"error": "forbidden", "message": "无权进行此操作"}
_EXAMPLE_404 = {"error": "not_found", "message": "记录不存在或您无权查看"}
_EXAMPLE_422 = {
    "error": "validation",
    "message": "提交的内容有误：summary：最多 2000 个字",
    "fields": {"summary": ["最多 2000 个字"]},
}
_EXAMPLE_409 = {"error": "opportunity_closed", "message": "商机已关闭（赢单），不能再推进"}

# The shared error answers (components/responses); an operation refers to them unless it says more.
ERROR_RESPONSES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "401": ("Unauthorized", "未登录：缺少令牌，或令牌无效、已过期（重新登录）", _EXAMPLE_401),
    "403": ("Forbidden", "无权：账号未开通或已停用，或您的角色不能进行此操作", _EXAMPLE_403),
    "404": ("NotFound", "记录不存在，或不在您的可见范围内（二者不区分）", _EXAMPLE_404),
    "409": ("Conflict", "当前状态不允许此操作", _EXAMPLE_409),
    "422": ("ValidationError", "提交的内容有误：fields 按字段列出原因", _EXAMPLE_422),
}

# Where a record's state can refuse the operation (409), and why.
CONFLICTS: dict[str, tuple[str, dict[str, Any]]] = {
    "POST /opportunities/{opportunity_id}/advance": (
        "商机已关闭（opportunity_closed），或大单信用校验未通过、审批已冻结（approval_frozen，含 risk_points）",
        {
            "error": "approval_frozen",
            "message": "大单信用校验未通过，审批已冻结：客户近 12 个月按时回款率 62.5%，低于 80%。"
            "如需继续，请联系销售总监解除冻结。",
            "risk_points": ["2 笔应收逾期超过 60 天"],
        },
    ),
    "POST /opportunities/{opportunity_id}/unfreeze": (
        "该商机的审批未被冻结（可能已被解除）",
        {"error": "conflict", "message": "该商机的审批没有被冻结"},
    ),
    "POST /invoices/confirm": (
        "该发票已登记到其他应收款，或应收款已结清",
        {"error": "conflict", "message": "该发票已登记到其他应收款"},
    ),
    "POST /customers/{customer_id}/tags": (
        "规则标签由系统计算，不能手动添加",
        {"error": "conflict", "message": "「三甲」是按规则自动计算的标签，不能手动添加或去掉。"},
    ),
    "DELETE /customers/{customer_id}/tags/{tag}": (
        "规则标签由系统计算，不能手动去掉",
        {"error": "conflict", "message": "「三甲」是按规则自动计算的标签，不能手动添加或去掉。"},
    ),
    "POST /imports/{import_id}/commit": (
        "这次导入已确认过或已撤销",
        {"error": "conflict", "message": "这次导入已经确认过"},
    ),
    "POST /imports/{import_id}/undo": (
        "这次导入尚未完成或已撤销",
        {"error": "conflict", "message": "这次导入还没有完成，不能撤销"},
    ),
}

_PATH_PARAM = re.compile(r"{([^}]+)}")
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
_METHODS = ("get", "post", "put", "patch", "delete")


def enrich(spec: dict[str, Any], *, public_url: str = "") -> dict[str, Any]:
    """The document flask-smorest generated, with the contract's words, errors and examples added."""
    spec = copy.deepcopy(spec)
    spec["info"]["description"] = GLOSSARY
    spec["servers"] = [{"url": "/", "description": "本服务（H5 客户端与接口同源）"}]
    if public_url:
        spec["servers"].append({"url": public_url, "description": "对外地址（PUBLIC_URL）"})
    components = spec.setdefault("components", {})
    schemas = components.get("schemas", {})
    describe_properties(schemas)
    responses = components.setdefault("responses", {})
    for name, description, example in ERROR_RESPONSES.values():
        responses[name] = _error_response(description, example)
    responses["DEFAULT_ERROR"] = _error_response(
        "其他错误：400 输入无法处理、413 文件过大、415 类型不支持、429 请求过于频繁、503 服务暂不可用",
        {"error": "bad_request", "message": "手机号格式不正确"},
    )
    responses["UNPROCESSABLE_ENTITY"] = _error_response(*ERROR_RESPONSES["422"][1:])
    for path, item in spec.get("paths", {}).items():
        key_path = path.removeprefix(API_PREFIX)
        for method in _METHODS:
            if method in item:
                _enrich_operation(f"{method.upper()} {key_path}", item[method], item, schemas)
    return spec


def _error_response(description: str, example: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}, "example": example}},
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _enrich_operation(key: str, operation: dict[str, Any], item: dict[str, Any], schemas: dict[str, Any]) -> None:
    if not operation.get("description") and DESCRIPTIONS.get(key):
        operation["description"] = DESCRIPTIONS[key]
    responses = operation.setdefault("responses", {})
    authenticated = operation.get("security") != []
    if authenticated:
        responses.setdefault("401", _ref("Unauthorized"))
        responses.setdefault("403", _ref("Forbidden"))
    parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
    if _PATH_PARAM.search(key):
        responses.setdefault("404", _ref("NotFound"))
    takes_input = "requestBody" in operation or any(p.get("in") in ("query", "path") for p in parameters)
    if takes_input:
        responses.setdefault("422", _ref("ValidationError"))
    if key in CONFLICTS:
        description, example = CONFLICTS[key]
        responses["409"] = _error_response(description, example)
    for status, response in responses.items():
        if "$ref" in response:
            continue
        if status.startswith("2"):
            response["description"] = _chinese_status(status, response.get("description", ""))
            for content in response.get("content", {}).values():
                if "example" not in content and "examples" not in content and "schema" in content:
                    example = example_for(content["schema"], schemas)
                    if example is not None:
                        content["example"] = example
        elif "content" in response:
            for content in response["content"].values():
                content.setdefault("example", _error_example(status))
    body = operation.get("requestBody", {})
    for media_type, content in body.get("content", {}).items():
        if (
            media_type == "application/json"
            and "example" not in content
            and "examples" not in content
            and "schema" in content
        ):
            example = example_for(content["schema"], schemas, writing=True)
            if example is not None:
                content["example"] = example


_STATUS_WORDS = {"200": "成功", "201": "已创建", "202": "已受理，后台处理中"}


def _chinese_status(status: str, description: str) -> str:
    if description in ("OK", "Created", "Accepted", ""):
        return _STATUS_WORDS.get(status, "成功")
    return description


def _error_example(status: str) -> dict[str, Any]:
    by_status: dict[str, dict[str, Any]] = {
        "400": {"error": "invalid", "message": "二维码无效，请让对方重新生成"},
        "401": _EXAMPLE_401,
        "403": _EXAMPLE_403,
        "404": _EXAMPLE_404,
        "409": _EXAMPLE_409,
        "410": {"error": "gone", "message": "二维码已过期，请让对方重新生成"},
        "413": {"error": "too_large", "message": "文件过大（最大 20 MB）"},
        "415": {"error": "unsupported_type", "message": "不支持的文件类型"},
        "422": _EXAMPLE_422,
        "502": {"error": "upstream_unavailable", "message": "微信小程序码服务暂时无法使用，请稍后再试"},
        "503": {"error": "engine_unavailable", "message": "识别服务暂时不可用，请稍后再试"},
    }
    return by_status.get(status, {"error": "bad_request", "message": "请求无法处理"})


# --- examples built from a schema ------------------------------------------------------------------------------

_NAMED_STRINGS = {
    "name": "李建国",
    "customer_name": "华山医院",
    "author_name": "王主管",
    "owner_name": "张伟",
    "waived_by_name": "赵总监",
    "department_name": "市场部",
    "title": "CT 球管更换项目",
    "opportunity_title": "CT 球管更换项目",
    "product_line": "CT",
    "summary": "拜访设备科李主任，确认今年预算已批",
    "next_action": "周四送样品并确认测试时间",
    "text": "已补充客户需求记录",
    "phone": "13800138000",
    "region": "上海",
    "grade": "三甲",
    "filename": "方案.pdf",
    "content_type": "application/pdf",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "message": "已登记回款",
    "reason": "客户已签预付款协议，首付30%",
    "request": "提供同级医院的使用案例",
    "code": "demo",
    "token": "eyJ1Ijoid2FuZ3dlaSJ9.Z2Vx.abc",
    "userid": "wangwei",
    "stage_name": "方案演示",
    "url": "https://example.com/whitepaper.pdf",
}


def example_for(
    schema: dict[str, Any], schemas: dict[str, Any], *, name: str = "", writing: bool = False, depth: int = 0
) -> Any:
    """A plausible value for `schema`: its own example if it has one, else built from its properties."""
    if "$ref" in schema:
        target = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return example_for(target, schemas, name=name, writing=writing, depth=depth)
    if "example" in schema:
        return schema["example"]
    if schema.get("enum"):
        return schema["enum"][0]
    if depth > 6:
        return None
    for combined in ("allOf", "oneOf", "anyOf"):
        if schema.get(combined):
            return example_for(schema[combined][0], schemas, name=name, writing=writing, depth=depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        out = {}
        for prop, sub in schema.get("properties", {}).items():
            if writing and sub.get("readOnly"):
                continue
            if not writing and sub.get("writeOnly"):
                continue
            value = example_for(sub, schemas, name=prop, writing=writing, depth=depth + 1)
            if value is not None or prop in schema.get("required", []):
                out[prop] = value
        return out
    if kind == "array":
        item = example_for(schema.get("items", {}), schemas, name=name, writing=writing, depth=depth + 1)
        return [] if item is None else [item]
    if kind == "integer":
        if name.endswith("_fen"):
            return 58_000_000
        if name in ("page",):
            return 1
        if name in ("per_page",):
            return 20
        if name == "id" or name.endswith("_id"):
            return 12
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return 0.92
    if kind == "boolean":
        return name not in ("overdue", "stalled", "approval_frozen", "already_imported")
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return "2026-03-02T10:00:00+08:00"
        if fmt == "date":
            return "2026-03-02"
        if fmt == "binary":
            return None
        if name.endswith("_label"):
            return "面访"
        return _NAMED_STRINGS.get(name, "示例")
    return None


# --- a word for every property ---------------------------------------------------------------------------------
# A property the schema left undescribed gets one by its name: the same name means the same thing everywhere in
# this API (that is the naming rule), so one dictionary describes them all.

_NOUNS = {
    "customer": "客户",
    "opportunity": "商机",
    "touchpoint": "触点",
    "last_touchpoint": "最近一次触点",
    "attachment": "附件",
    "audio_attachment": "语音附件",
    "receivable": "应收款",
    "owner": "负责人",
    "ticket": "协同单",
    "alert": "预警",
    "rep": "销售",
    "author": "批注人",
    "recipient": "批注接收人",
    "department": "部门",
    "checklist_item": "检查清单项",
    "part": "协同任务",
    "provided_by": "提供材料的人",
    "requested_by": "提出请求的人",
    "waived_by": "解除冻结的人",
    "assignee": "待办负责人",
    "actor": "操作人",
    "subject": "预警或待办对象",
    "entry": "公海记录",
    "contact": "联系人",
    "material": "素材",
    "stage": "阶段",
    "next_stage": "下一阶段",
    "opportunity_title": "商机",
}
_MOMENTS = {
    "created": "创建",
    "occurred": "发生",
    "closed": "关闭",
    "due": "截止",
    "expires": "过期",
    "completed": "完成",
    "opened": "开启",
    "published": "发布",
    "provided": "提供",
    "raised": "触发",
    "entered": "进入公海",
    "waived": "解除冻结",
    "paid": "回款",
    "first_response": "首次响应",
    "last_follow_up": "最近跟进",
    "stage_entered": "进入当前阶段",
    "fulfilled": "请求满足",
    "next_action_due": "下一步行动截止",
}
_MONEY = {
    "amount": "金额",
    "outstanding": "未回款金额",
    "paid": "已回款金额",
    "overdue": "已逾期的未回款金额",
    "tax": "税额",
    "total": "价税合计",
    "expected_amount": "预计成交金额",
    "overdue_receivable": "已逾期的应收款金额",
}
PROPERTY_WORDS = {
    "id": "编号",
    "items": "本页的记录",
    "page": "页码，从 1 开始",
    "per_page": "每页条数",
    "total": "符合条件的记录总数",
    "total_pages": "总页数",
    "first_page": "第一页页码",
    "last_page": "最后一页页码",
    "previous_page": "上一页页码",
    "next_page": "下一页页码",
    "title": "标题或职务",
    "name": "名称或姓名",
    "text": "文字内容",
    "summary": "纪要",
    "next_action": "下一步行动",
    "next_action_due": "下一步行动的截止时间",
    "product_line": "产品线",
    "contacts": "联系人",
    "code": "编码或代码",
    "grade": "客户等级，如 三甲",
    "region": "地区",
    "tags": "标签",
    "tag": "标签编码或名称",
    "tag_list": "客户现在的标签，每个带编码与名称",
    "label": "中文名称",
    "lifecycle": "生命周期阶段",
    "lifecycle_since": "进入生命周期阶段的时间",
    "phone": "手机号",
    "evidence": "已提供的检查清单材料",
    "transcript": "语音识别出的文字",
    "risks": "风险点",
    "valid_until": "有效期至",
    "filename": "文件名",
    "content_type": "文件类型（MIME）",
    "sha256": "内容的 SHA-256 摘要",
    "size_bytes": "文件大小（字节）",
    "count": "数量",
    "description": "说明",
    "url": "链接",
    "position": "顺序",
    "contract_no": "合同编号",
    "instalments": "回款计划的各期",
    "signed_on": "签约日期",
    "ends_on": "合同到期日",
    "term_ends_on": "计算续费期所用的合同到期日",
    "reason": "原因或理由",
    "request": "协同请求的内容",
    "note": "说明",
    "checked": "是否已勾选",
    "buyer": "购买方名称",
    "seller": "销售方名称",
    "date": "日期",
    "number": "发票号码",
    "engine": "识别引擎",
    "detail": "详情",
    "due_date": "到期日",
    "expo": "展会名称",
    "bucket": "账龄分段",
    "buckets": "按账龄分段的合计",
    "days_overdue": "逾期天数",
    "objection": "异议",
    "share": "占比，0–1",
    "won_answer_count": "该应对在赢单中出现的次数",
    "customer": "客户",
    "deal": "商机",
    "objection_group_size": "参与统计的相似商机数",
    "objections": "最可能出现的异议",
    "open_items": "未结事项",
    "people": "关键人",
    "talk_track": "本阶段话术",
    "what": "事项",
    "role": "决策角色",
    "role_guessed": "角色是否为系统推测",
    "required": "是否必填",
    "today": "今天（业务日）",
    "truncated": "是否只列出了一部分",
    "window_months": "统计的月数",
    "days_in_stage": "在当前阶段的天数",
    "missing_items": "还缺的检查清单项",
    "stalled": "是否明显停滞",
    "resistant": "抵触的次数",
    "deals": "商机",
    "emotion": "客户情绪",
    "findings": "各项发现",
    "next_steps": "下一步建议",
    "open_parts": "未完成的协同任务",
    "payment": "回款情况",
    "roles_met": "已接触的决策角色（中文名）",
    "roles_missing": "尚无联系人的决策角色（中文名）",
    "roles_not_met": "有联系人但未接触的决策角色（中文名）",
    "department": "部门",
    "overdue": "是否已逾期",
    "late": "逾期笔数",
    "minimum": "要求的最低按时回款率，0–1",
    "on_time_rate": "按时回款率，0–1；无到期应收时为空",
    "receivables": "统计的应收笔数",
    "risk_points": "风险点",
    "unavailable": "财务系统查不到时的原因",
    "item_name": "检查清单项名称",
    "already_imported": "同一文件此前已导入过",
    "counts": "导入结果的各类记录数",
    "errors": "失败的行及原因",
    "message": "给用户看的中文说明",
    "notes": "导入中的提示",
    "percent": "进度百分比",
    "processed_rows": "已处理的行数",
    "total_rows": "总行数",
    "candidates": "可能对应的未结清应收款，最可能的在前",
    "fields": "识别出的发票字段",
    "token": "接口令牌，放在 Authorization: Bearer 之后",
    "user": "登录的成员",
    "customer_kind": "适用的客户类型；空为通用",
    "stage_code": "适用的阶段编码；空为通用",
    "approval_frozen": "审批是否被冻结",
    "approval_frozen_reason": "冻结的原因与风险点",
    "response_text": "回复内容",
    "schedule_date": "交付部确认的排期",
    "sla_hours": "响应时限（小时）",
    "invoice_code": "发票代码",
    "invoice_date": "开票日期",
    "invoice_no": "发票号码",
    "invoice_no_matches": "发票号与应收款登记的一致",
    "days_in_pool": "在公海的天数",
    "open_deals": "进行中的商机数",
    "can_assign": "是否可以分配（主管）",
    "quota": "我的领取额度",
    "claimed_today": "今天已领取的个数",
    "claims_per_day": "每天最多领取的个数",
    "held": "已持有的客户数",
    "max_held": "最多持有的客户数",
    "valid_days": "有效天数",
    "prefill": "预填的表单内容",
    "checklist": "进入该阶段需要的检查清单",
    "win_probability": "阶段赢率，百分数",
    "escalation_level": "升级次数",
    "origin": "来源：manual 手动，rule:规则编码 为规则生成",
    "subject_type": "对象类型",
    "enablement_requests": "赋能请求",
    "parts": "各部门的协同任务",
    "checklist_complete": "检查清单是否齐全",
    "from_stage": "原阶段；第一次为空",
    "to_stage": "新阶段",
    "override_reason": "跳过检查清单的理由",
    "opportunity": "商机",
    "waiver": "解除冻结的记录",
    "userid": "企业微信 userid",
    "draft": "触点草稿",
    "duration_s": "语音时长（秒）",
    "ids": "记录的 id",
    "stage": "所处阶段",
}


def describe(name: str) -> str | None:
    """What a property of this name means, wherever it appears; None for a name we have no word for."""
    if name in PROPERTY_WORDS:
        return PROPERTY_WORDS[name]
    if name.endswith("_fen"):
        return f"{_MONEY.get(name.removesuffix('_fen'), '金额')}（分）"
    if name.endswith("_ids"):
        return f"{_NOUNS.get(name.removesuffix('_ids'), '关联记录')}的 id 列表"
    if name.endswith("_id"):
        return f"{_NOUNS.get(name.removesuffix('_id'), '关联记录')}的 id"
    if name.endswith("_at"):
        return f"{_MOMENTS.get(name.removesuffix('_at'), '')}时间"
    if name.endswith("_name"):
        return f"{_NOUNS.get(name.removesuffix('_name'), '')}名称或姓名"
    if name.endswith("_title"):
        return f"{_NOUNS.get(name.removesuffix('_title'), '')}标题"
    return None


def describe_properties(schemas: dict[str, Any]) -> None:
    for schema in schemas.values():
        for name, prop in schema.get("properties", {}).items():
            if _CHINESE.search(prop.get("description", "")):
                continue
            words = describe(name)  # also in place of a library's English words
            if words is None:
                continue
            if "$ref" in prop:  # a $ref takes no siblings in OpenAPI 3.0
                schema["properties"][name] = {"allOf": [{"$ref": prop.pop("$ref")}], **prop, "description": words}
            else:
                prop["description"] = words
