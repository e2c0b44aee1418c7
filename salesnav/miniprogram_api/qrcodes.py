"""QR-code entry: a PNG whose scene opens a pre-filled form (a customer's touchpoint, an exhibition lead).

A scene is `<row id in base 36>.<signature>`, at most 30 characters of WeCom's allowed set, so it
fits the 32-character scene limit of a mini-program code. The signature is an HMAC-SHA256 cut to
12 bytes (itsdangerous, with its own salt): ids cannot be guessed, and expiry is kept in the row.
"""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any

import marshmallow as ma
import qrcode
from flask import Response, current_app
from itsdangerous import BadSignature, Signer
from itsdangerous.signer import HMACAlgorithm
from marshmallow import fields, validate

from salesnav import clock
from salesnav.bot.miniprogram_code import CodeUnavailable, unlimited_code
from salesnav.handlers.errors import DomainError
from salesnav.handlers.scope import customer_for
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import bp
from salesnav.miniprogram_api.customers import ContactOut
from salesnav.miniprogram_api.errors import Gone, UpstreamUnavailable
from salesnav.miniprogram_api.schemas import Code, Codes, ErrorOut, with_labels
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import QrScene, TouchpointType

TAGS = ["二维码"]
SCENE_SALT = "qr"
SIGNATURE_BYTES = 12
MAX_SCENE_LENGTH = 32
DEFAULT_VALID_DAYS = 30
PAGE_PATH = "pages/scan/index"  # the mini-program page that reads `scene` and opens the form
FORMS = Codes({"touchpoint": "客户触点表单", "expo_lead": "展会线索表单"})
KINDS = tuple(FORMS.codes())


class _ShortHMAC(HMACAlgorithm):
    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return super().get_signature(key, value)[:SIGNATURE_BYTES]


def _signer() -> Signer:
    return Signer(current_app.config["SALESNAV"].secret_key, salt=SCENE_SALT, algorithm=_ShortHMAC(hashlib.sha256))


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def scene_for(row: QrScene) -> str:
    scene = _signer().sign(_base36(row.id)).decode()
    assert len(scene) <= MAX_SCENE_LENGTH, scene
    return scene


def scene_row(scene: str) -> QrScene:
    try:
        row_id = int(_signer().unsign(scene).decode(), 36)
    except (BadSignature, ValueError) as exc:
        raise DomainError("二维码无效，请让对方重新生成") from exc
    row = db_session().get(QrScene, row_id)
    if row is None:
        raise DomainError("二维码无效，请让对方重新生成")
    if row.expires_at <= clock.now():
        raise Gone("二维码已过期，请让对方重新生成")
    return row


def scene_link(scene: str) -> str:
    """What the code encodes: an absolute link to the H5 client's scan page, which WeCom's scanner opens (a
    mini-program, once configured, is opened by its own code from the code API instead)."""
    return current_app.config["SALESNAV"].client_url(f"{PAGE_PATH}?scene={scene}")


class QrIn(ma.Schema):
    kind = Code(FORMS, required=True, metadata={"description": "二维码打开的表单"})
    customer_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**53))
    expo = fields.String(
        allow_none=True, validate=validate.Length(min=1, max=100), metadata={"example": "2026上海医疗器械展"}
    )
    valid_days = fields.Integer(load_default=DEFAULT_VALID_DAYS, validate=validate.Range(min=1, max=365))

    @ma.validates_schema
    def _target_given(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data["kind"] == "touchpoint" and not data.get("customer_id"):
            raise ma.ValidationError("触点二维码需要指定客户", "customer_id")
        if data["kind"] == "expo_lead" and not (data.get("expo") or "").strip():
            raise ma.ValidationError("展会二维码需要填写展会名称", "expo")


@with_labels
class PrefillOut(ma.Schema):
    type = Code(TouchpointType, required=True, metadata={"description": "预选的触点类型"})
    customer_id = fields.Integer(allow_none=True)
    customer_name = fields.String(allow_none=True)
    contacts = fields.List(fields.Nested(ContactOut))
    expo = fields.String(allow_none=True)
    summary = fields.String(allow_none=True)


@with_labels
class SceneFormOut(ma.Schema):
    form = Code(FORMS, required=True, metadata={"description": "要打开的表单"})
    expires_at = fields.AwareDateTime(required=True)
    prefill = fields.Nested(PrefillOut, required=True)
    submit_to = fields.List(fields.String(), required=True, metadata={"description": "提交表单要调用的接口，按顺序"})


@bp.route("/qrcodes", methods=["POST"])
@bp.arguments(QrIn)
@bp.alt_response(502, schema=ErrorOut, description="配置了小程序但微信小程序码服务不可用")
@bp.response(201, description="二维码 PNG；扫码后的 scene 见响应头 X-Scene", content_type="image/png")
@bp.doc(
    tags=TAGS,
    summary="生成二维码（客户触点表单或展会线索表单）",
    description=(
        "配置了小程序（WECOM_MINIPROGRAM_APPID）时为微信小程序码"
        "（getwxacodeunlimit，打开 pages/scan/index 并带 scene）；"
        "否则为指向 H5 客户端的网址二维码（企业微信扫一扫即可打开），网址见响应头 X-Link。"
    ),
    responses={
        "201": {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "二维码 PNG",
        }
    },
)
def create_qrcode(body: dict[str, Any]) -> Response:
    session, actor = db_session(), current_actor()
    customer_id, expo = None, None
    if body["kind"] == "touchpoint":
        customer_id = customer_for(session, actor, body["customer_id"]).id
    else:
        expo = body["expo"].strip()
    row = QrScene(
        kind=body["kind"],
        customer_id=customer_id,
        expo=expo,
        created_by_id=actor.id,
        expires_at=clock.now() + timedelta(days=body["valid_days"]),
    )
    session.add(row)
    session.flush()
    scene = scene_for(row)
    commit()
    settings = current_app.config["SALESNAV"]
    if settings.miniprogram_appid:
        try:
            data = unlimited_code(settings, scene=scene, page=PAGE_PATH)
        except CodeUnavailable as exc:
            raise UpstreamUnavailable("微信小程序码服务暂时无法使用，请稍后再试") from exc
    else:
        image = qrcode.make(scene_link(scene), box_size=8, border=2)
        png = io.BytesIO()
        image.save(png, format="PNG")  # type: ignore[call-arg]  # a PIL image (Pillow is installed): save takes format
        data = png.getvalue()
    response = Response(data, status=201, mimetype="image/png")
    response.headers["X-Scene"] = scene
    if not settings.miniprogram_appid:
        response.headers["X-Link"] = scene_link(scene)
    response.headers["X-Expires-At"] = row.expires_at.isoformat()
    return response


@bp.route("/qrcodes/scene/<string:scene>", methods=["GET"])
@bp.response(200, SceneFormOut)
@bp.alt_response(410, schema=ErrorOut, description="二维码已过期")
@bp.doc(tags=TAGS, summary="扫码后：取预填好的表单")
def open_scene(scene: str) -> dict[str, Any]:
    row = scene_row(scene)
    if row.kind == "touchpoint":
        customer = customer_for(db_session(), current_actor(), row.customer_id or 0)
        prefill: dict[str, Any] = {
            "type": TouchpointType.VISIT,
            "customer_id": customer.id,
            "customer_name": customer.name,
            "contacts": [c for c in customer.contacts if not c.deleted_at],
        }
        submit_to = ["POST /api/v1/touchpoints"]
    else:
        prefill = {"type": TouchpointType.EXPO, "expo": row.expo, "summary": f"展会：{row.expo}"}
        submit_to = ["POST /api/v1/customers", "POST /api/v1/touchpoints"]
    return {"form": row.kind, "expires_at": row.expires_at, "prefill": prefill, "submit_to": submit_to}
