"""Sales stages and their checklists (read-only here; the admin edits them)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields
from sqlalchemy import select

from salesnav.miniprogram_api.blueprint import bp
from salesnav.miniprogram_api.schemas import Code, with_labels
from salesnav.miniprogram_api.unit_of_work import db_session
from salesnav.models import ChecklistItemKind, Stage, StageOutcome

TAGS = ["阶段与检查清单"]


@with_labels
class ChecklistItemOut(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = Code(ChecklistItemKind, required=True)
    required = fields.Boolean(required=True)
    position = fields.Integer(required=True)


@with_labels
class StageOut(ma.Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    position = fields.Integer(required=True)
    win_probability = fields.Integer(required=True)
    outcome = Code(StageOutcome, required=True)
    checklist = fields.List(fields.Nested(ChecklistItemOut), required=True)

    @ma.pre_dump
    def _active_items_only(self, stage: Stage, **_kwargs: Any) -> dict[str, Any]:
        names = ("id", "code", "name", "position", "win_probability", "outcome")
        return {**{n: getattr(stage, n) for n in names}, "checklist": [i for i in stage.checklist if not i.deleted_at]}


class StageList(ma.Schema):
    items = fields.List(fields.Nested(StageOut), required=True)


@bp.route("/stages", methods=["GET"])
@bp.response(200, StageList)
@bp.doc(tags=TAGS, summary="销售阶段及进入每个阶段需要的检查清单")
def list_stages() -> dict[str, list[Stage]]:
    stages = db_session().scalars(select(Stage).where(Stage.deleted_at.is_(None)).order_by(Stage.position))
    return {"items": list(stages)}
