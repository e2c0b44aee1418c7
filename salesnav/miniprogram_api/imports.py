"""Excel one-click migration from the mini-program: upload → preview → commit → progress → undo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import marshmallow as ma
from flask import Response, current_app
from flask_smorest.fields import Upload
from marshmallow import fields
from sqlalchemy.orm import Session

from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.excel_import import commit, export, history
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.listing import paginate
from salesnav.miniprogram_api.schemas import Code, PageArgs, page_of, with_labels
from salesnav.miniprogram_api.unit_of_work import commit as commit_session
from salesnav.miniprogram_api.unit_of_work import db_session
from salesnav.models import ExcelImport, ImportStatus, User

TAGS = ["Excel 导入"]


def _root() -> Path:
    return Path(current_app.config["SALESNAV"].data_dir)


def _tz() -> Any:
    return current_app.config["SALESNAV"].business_tz


class ImportUploadIn(ma.Schema):
    file = Upload(required=True, metadata={"description": ".xlsx / .xls / .csv（UTF-8 或 GBK）"})


class OwnerIn(ma.Schema):
    owner = fields.String(load_default=None, metadata={"description": "归属人企业微信 userid（主管替下属导入）"})


class CommitIn(ma.Schema):
    columns = fields.Dict(load_default=dict, metadata={"description": '{"工作表": {"列序号": "字段" 或 ""}}'})
    matches = fields.Dict(
        load_default=dict,
        metadata={
            "description": '{"客户名称": 已有客户id 或 "new"；他人的客户："log"（记在其名下）、'
            '"handover"（申请转交）或 "skip"；表内合并的写法："split"（分开，作为另一个客户）或 "merge"}'
        },
    )


class HandoversOut(ma.Schema):
    open = fields.Integer(required=True, metadata={"description": "待处理的转交申请数"})
    done = fields.Integer(required=True, metadata={"description": "已处理的转交申请数"})
    cancelled = fields.Integer(required=True, metadata={"description": "已取消的转交申请数（撤销导入时取消未处理的）"})


@with_labels
class ImportListItemOut(ma.Schema):
    id = fields.Integer(required=True)
    status = Code(ImportStatus, required=True, metadata={"description": "导入状态"})
    filename = fields.String(required=True, metadata={"description": "上传的文件名"})
    total_rows = fields.Integer(required=True)
    counts = fields.Dict(
        required=True,
        metadata={"description": "待确认时为预览的各类数（rows、new_customers…），确认后为写入的记录数"},
    )
    created_at = fields.AwareDateTime(required=True, metadata={"description": "上传时间"})
    finished_at = fields.AwareDateTime(allow_none=True, metadata={"description": "导入完成（或中断）的时间"})
    undone_at = fields.AwareDateTime(allow_none=True, metadata={"description": "撤销时间"})
    owner_id = fields.Integer(required=True, metadata={"description": "记录归属人（导入到谁名下）"})
    owner_name = fields.String(required=True, metadata={"description": "记录归属人的姓名"})
    handovers = fields.Nested(HandoversOut, required=True, metadata={"description": "这次导入发出的转交申请"})


ImportPage = page_of(ImportListItemOut, "ImportPage")


@with_labels
class ImportOut(ma.Schema):
    id = fields.Integer()
    status = Code(ImportStatus, required=True, metadata={"description": "导入状态"})
    filename = fields.String()
    total_rows = fields.Integer()
    processed_rows = fields.Integer()
    percent = fields.Integer()
    counts = fields.Dict()
    errors = fields.List(fields.Dict())
    notes = fields.List(fields.Dict())
    message = fields.String(allow_none=True)
    preview = fields.Dict(metadata={"description": "识别出的列、疑似重复客户、每行将生成的记录"})
    already_imported = fields.Boolean()
    created_at = fields.AwareDateTime(metadata={"description": "上传时间"})
    undone_at = fields.AwareDateTime(allow_none=True, metadata={"description": "撤销时间"})
    owner_name = fields.String(metadata={"description": "记录归属人的姓名"})
    handovers = fields.Nested(HandoversOut, metadata={"description": "这次导入发出的转交申请"})


def _out(session: Session, imp: ExcelImport) -> dict[str, Any]:
    """What an import's page shows: its progress and result, with when, whose and its hand-over requests."""
    (row,) = history.described(session, [imp])
    return {
        **commit.progress(imp),
        **{k: row[k] for k in ("created_at", "undone_at", "owner_name", "handovers")},
    }


@bp.route("/imports", methods=["GET"])
@bp.arguments(PageArgs, location="query")
@bp.response(200, ImportPage)
@bp.doc(
    tags=TAGS,
    summary="最近的导入（新的在前）：我上传的，以及我可查看的同事名下的（主管看团队的）",
    description="每条带文件名、上传时间、状态、归属人、各类记录数和发出的转交申请；"
    "待确认的导入（如在聊天中发送的表格）也在其中。详情与预览用 GET /imports/{import_id}。",
)
def list_imports(args: dict[str, Any]) -> dict[str, Any]:
    session = db_session()
    page = paginate(history.imports_visible(session, current_actor()), args)
    page["items"] = history.described(session, page["items"])
    return page


@bp.route("/imports", methods=["POST"])
@bp.arguments(ImportUploadIn, location="files")
@bp.arguments(OwnerIn, location="query")
@bp.response(201, ImportOut)
@bp.doc(tags=TAGS, summary="上传表格，返回预览（识别的列、疑似重复、错误行），确认前不写入任何客户数据")
def upload(files: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    upload_file = files.get("file")
    if upload_file is None:
        raise DomainError("请选择要导入的表格文件")
    max_bytes, _ = commit.limits(session)
    data = upload_file.stream.read(max_bytes + 1)
    owner = actor
    if query.get("owner"):
        named = session.query(User).filter_by(wecom_userid=query["owner"], deleted_at=None).first()
        if named is None:
            raise NotFound("归属人不存在")
        owner = named
    imp, plan = commit.start_import(
        session,
        actor,
        owner=owner,
        data=data,
        filename=upload_file.filename or "表格",
        root=_root(),
        tz=_tz(),
        channel="miniprogram",
    )
    commit_session()
    return {**_out(session, imp), "preview": plan.to_json(), "already_imported": imp.status.value != "previewed"}


@bp.route(f"/imports/<{ID}:import_id>/commit", methods=["POST"])
@bp.arguments(CommitIn)
@bp.response(202, ImportOut)
@bp.doc(tags=TAGS, summary="确认导入（可带列与匹配的更正）；在后台执行，用 GET 查看进度")
def confirm(corrections: dict[str, Any], import_id: int) -> dict[str, Any]:
    session = db_session()
    imp = commit.commit_import(
        session, current_actor(), import_id=import_id, root=_root(), tz=_tz(), corrections=corrections
    )
    commit_session()
    return _out(session, imp)


@bp.route(f"/imports/<{ID}:import_id>", methods=["GET"])
@bp.response(200, ImportOut)
@bp.doc(
    tags=TAGS,
    summary="导入进度与结果（失败行及原因）；尚未确认的导入（如在聊天中发送的表格）带预览，供逐个决定合并、他人客户与疑似重复",
)
def read(import_id: int) -> dict[str, Any]:
    session = db_session()
    imp = commit.import_for(session, current_actor(), import_id)
    out = _out(session, imp)
    if imp.status is ImportStatus.PREVIEWED:
        out["preview"] = commit.plan_of(session, imp, _root(), _tz(), imp.corrections).to_json()
    return out


@bp.route(f"/imports/<{ID}:import_id>/undo", methods=["POST"])
@bp.response(200, ImportOut)
@bp.doc(tags=TAGS, summary="整体撤销这次导入（只撤销本次创建的记录，保留审计记录）")
def undo(import_id: int) -> dict[str, Any]:
    session = db_session()
    imp = commit.undo_import(session, current_actor(), import_id=import_id)
    commit_session()
    return _out(session, imp)


@bp.route(f"/imports/<{ID}:import_id>/failed.csv", methods=["GET"])
@bp.response(200, description="失败行报表", content_type="text/csv")
@bp.doc(
    tags=TAGS,
    summary="下载失败行报表（CSV，已防公式注入）",
    responses={"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def failed_rows(import_id: int) -> Response:
    imp = commit.import_for(db_session(), current_actor(), import_id)
    return Response(
        export.failed_rows_csv(imp),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=import-{imp.id}-failed.csv"},
    )
