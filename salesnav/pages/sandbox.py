"""The sandbox chat (沙盒对话): a newcomer chats with the bot as any member, without WeCom.

Only mounted in emulator mode. Every action on the page becomes a REAL signed and encrypted
WeCom callback posted to our own `/wecom/callback` (emulator/callbacks.py), so the bot cannot
tell the sandbox from WeCom; a voice note, photo or file is first put into the emulator's media
store and the bot fetches it by MediaId, as it would from WeCom (a file comes with its FileName).
The bot's side of the conversation is what the emulator recorded: the messages it delivered to the
member, with template cards shown as updated in place by update_template_card; a tap on a card's
body opens its card_action url, as WeCom does.

The member's own side (what they typed or tapped) is not WeCom's to record, so the sandbox keeps
it in memory next to the emulator's state, and forgets it when the emulator is reset.
"""

from __future__ import annotations

import copy
import io
import mimetypes
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, render_template, request
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from salesnav.bot.capture.lookup import recent_customers
from salesnav.bot.emulator import PREFIX, STATE, callbacks
from salesnav.bot.emulator.api import MEDIA_MAX_BYTES
from salesnav.bot.menu import load_menu
from salesnav.handlers.customers import find_by_name
from salesnav.handlers.errors import DomainError
from salesnav.models import User
from salesnav.models import session as db
from salesnav.settings import Settings
from salesnav.voice.audio import AudioRejected, sniff, to_amr

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

MAX_TEXT_CHARS = 2000  # WeCom's own text limit is 2,048 bytes for what it sends; members type less
MAX_VOICE_BYTES = 2 << 20  # WeCom's voice media limit
MAX_IMAGE_BYTES = 10 << 20  # WeCom's image media limit
MAX_FILE_BYTES = MEDIA_MAX_BYTES["file"]  # WeCom's file media limit (20 MB), as the emulator's media/upload
ROLE_ORDER = ["rep", "manager", "director", "dept_head", "admin", "staff"]  # the picker lists reps first
SHOWN_ITEMS = 200  # the chat keeps the latest items; older ones scroll out


class SandboxError(Exception):
    """A refusal shown to the newcomer as is (Chinese)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class _MemberLog:
    """What members did on the sandbox page, valid for one life of the emulator's state."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    owner: object = None  # STATE.messages when the log was started; reset() replaces that list
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, userid: str, kind: str, text: str, **extra: str) -> dict[str, Any]:
        with self.lock, STATE.lock:
            self._forget_if_reset()
            # Placed after every bot message delivered so far: the same order the member saw.
            item = {"side": "me", "kind": kind, "text": text, "after": len(STATE.messages), **extra}
            self.items.setdefault(userid, []).append(item)
            return item

    def remove(self, userid: str, item: dict[str, Any]) -> None:
        with self.lock:
            self.items[userid] = [e for e in self.items.get(userid, []) if e is not item]

    def of(self, userid: str) -> list[dict[str, Any]]:
        with self.lock, STATE.lock:
            self._forget_if_reset()
            return list(self.items.get(userid, []))

    def _forget_if_reset(self) -> None:
        if self.owner is not STATE.messages:
            self.owner, self.items = STATE.messages, {}


MEMBER_LOG = _MemberLog()


def init_app(app: Flask) -> None:
    """Register the sandbox; only ever next to the emulator (create_app checks the setting)."""
    app.register_blueprint(bp)


def _settings() -> Settings:
    return current_app.config["SALESNAV"]


@bp.before_request
def _only_in_emulator_mode() -> None:
    if not _settings().wecom.emulator:  # defence in depth, as for the emulator itself
        abort(404)


@bp.errorhandler(SandboxError)
def _refused(exc: SandboxError) -> tuple[Response, int]:
    return jsonify(error="sandbox", message=exc.message), exc.status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> tuple[Response, int]:
    # Past the app's request cap (MAX_CONTENT_LENGTH), before any of the checks below could say more.
    message = f"文件太大，无法发送（文件最大 {MAX_FILE_BYTES >> 20} MB，图片最大 {MAX_IMAGE_BYTES >> 20} MB）"
    return jsonify(error="sandbox", message=message), 413


# --- the page -----------------------------------------------------------------------------------


@bp.get("/")
def page() -> str:
    members = _members()
    wanted = request.args.get("as", "")
    current = next((m for m in members if m["userid"] == wanted), None)
    if current is None:
        current = next((m for m in members if m["role"] == "rep"), members[0] if members else None)
    groups: dict[str, list[dict[str, str]]] = {}
    for m in sorted(members, key=lambda m: ROLE_ORDER.index(m["role"]) if m["role"] in ROLE_ORDER else 99):
        groups.setdefault(m["role_label"], []).append(m)
    example = _example(current["userid"]) if current else GENERIC_EXAMPLE
    return render_template(
        "sandbox.html",
        groups=groups,
        members=members,
        current=current,
        menu=load_menu(),
        example=example,
        max_file_bytes=MAX_FILE_BYTES,
        max_file_mb=MAX_FILE_BYTES >> 20,
    )


GENERIC_EXAMPLE = "帮助"
SUFFIXES = ("医疗器械有限公司", "有限公司", "医院")


def _example(userid: str) -> str:
    """The input box's example, on this member's own data: a few characters of their latest customer's name
    that find exactly that customer (the same matcher the chat uses), so the example works when typed."""
    with db.new_session() as session:
        user = session.scalars(select(User).where(User.wecom_userid == userid)).first()
        customers = recent_customers(session, user, limit=1) if user is not None else []
        if user is None or not customers:
            return GENERIC_EXAMPLE
        name = customers[0].name
        short = next((name[: -len(s)] for s in SUFFIXES if name.endswith(s) and len(name) > len(s) + 1), name)
        try:
            found = find_by_name(session, user, short)
        except DomainError:
            found = None
        return f"触点 {short if found is not None and found.id == customers[0].id else name} 面访 积极 下周二送样"


def _members() -> list[dict[str, str]]:
    with db.new_session() as session:
        users = session.scalars(
            select(User).where(User.active.is_(True), User.deleted_at.is_(None)).order_by(User.wecom_userid)
        ).all()
        return [
            {"userid": u.wecom_userid, "name": u.name, "role": u.role.value, "role_label": u.role.label} for u in users
        ]


def _member(userid: str | None) -> str:
    """The member the page acts as; must be an active user, as WeCom only calls back for members."""
    userid = (userid or "").strip()
    if not userid:
        raise SandboxError("请先选择要扮演的成员")
    with db.new_session() as session:
        found = session.scalar(
            select(User.id).where(User.wecom_userid == userid, User.active.is_(True), User.deleted_at.is_(None))
        )
    if found is None:
        raise SandboxError(f"没有成员「{userid}」，请从列表中选择")
    return userid


# --- the conversation ---------------------------------------------------------------------------


@bp.get("/api/chat")
def chat() -> Response:
    userid = _member(request.args.get("as"))
    return jsonify(userid=userid, items=conversation(userid))


def conversation(userid: str) -> list[dict[str, Any]]:
    """Bot messages delivered to the member and the member's own actions, in the order they happened."""
    with STATE.lock:
        messages = [dict(m) for m in STATE.messages]
        updates = [dict(u) for u in STATE.card_updates]
    # Latest in-place update per card (task_id) that reached this member.
    latest: dict[str, dict[str, Any]] = {}
    for update in updates:
        card = update.get("template_card") or {}
        if update.get("userids") and userid not in update["userids"]:
            continue
        task_id = card.get("task_id") or _task_of_code(messages, update.get("response_code"))
        if task_id:
            latest[task_id] = update
    keyed: list[tuple[float, dict[str, Any]]] = []
    for message in messages:
        if userid in message.get("delivered_to", []):
            keyed.append((message["seq"], _bot_item(message, latest)))
        elif userid in message.get("dropped_for", []):
            keyed.append(
                (
                    message["seq"],
                    {
                        "side": "system",
                        "kind": "dropped",
                        "text": "一条消息超出企业微信的频率限制，被企业微信丢弃（成员收不到）",
                    },
                )
            )
    taps: dict[str, list[str]] = {}
    for item in MEMBER_LOG.of(userid):
        if item["kind"] == "tap":  # WeCom shows no bubble for a tap; the card itself records it
            taps.setdefault(item.get("task_id", ""), []).append(item["text"])
        else:
            keyed.append((item["after"] + 0.5, item))
    for _, item in keyed:
        if item.get("card") and item["card"].get("task_id") in taps:
            item["taps"] = taps[item["card"]["task_id"]]
    keyed.sort(key=lambda pair: pair[0])
    return [item for _, item in keyed][-SHOWN_ITEMS:]


def _task_of_code(messages: list[dict[str, Any]], code: str | None) -> str | None:
    """A button-only update names no card; the response code WeCom returned on the send does."""
    for message in messages:
        if code and message.get("response_code") == code:
            return (message.get("payload") or {}).get("task_id")
    return None


def _bot_item(message: dict[str, Any], latest: dict[str, dict[str, Any]]) -> dict[str, Any]:
    kind = message.get("msgtype") or "text"
    payload = message.get("payload") or {}
    item: dict[str, Any] = {"side": "bot", "kind": kind, "seq": message["seq"]}
    if kind in ("text", "markdown"):
        item["text"] = payload.get("content", "")
    elif kind == "textcard":
        item.update(
            title=payload.get("title", ""),
            description=payload.get("description", ""),
            url=payload.get("url", ""),
            btntxt=payload.get("btntxt", "详情"),
        )
    elif kind == "template_card":
        card = copy.deepcopy(payload)
        update = latest.get(card.get("task_id") or "")
        if update is not None and update.get("template_card"):
            card, item["updated"] = copy.deepcopy(update["template_card"]), True
        elif update is not None and update.get("button"):
            # WeCom greys the buttons out and shows this text instead.
            card["replaced_by"], item["updated"] = (update["button"] or {}).get("replace_name", "已处理"), True
        item["card"] = card
    elif kind in ("image", "voice", "file"):
        item["media_url"] = f"{bp.url_prefix}/api/media/{payload.get('media_id', '')}"
    else:
        item["text"] = f"[{kind} 消息]"
    return item


@bp.get("/api/media/<media_id>")
def media(media_id: str) -> Response:
    """Media the bot sent (or the member uploaded), straight from the emulator's store."""
    item = STATE.get_media(media_id)
    if item is None:
        raise SandboxError("文件不存在或已过期（企业微信临时素材保留 3 天）", 404)
    return Response(item.data, mimetype=item.content_type)


# --- the member's actions: each one a signed and encrypted WeCom callback -------------------------


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise SandboxError("请求格式不正确")
    return body


@bp.post("/api/menu")
def menu_click() -> Response:
    body = _body()
    userid = _member(body.get("as"))
    names = _menu_names()
    key = str(body.get("key", ""))
    if key not in names:
        raise SandboxError("菜单里没有这一项")
    return jsonify(item=_act(userid, "menu", names[key], callbacks.click_xml(_settings(), userid, key)))


def _menu_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for button in load_menu().get("button", []):
        for entry in [button, *button.get("sub_button", [])]:
            if entry.get("key"):
                names[entry["key"]] = entry["name"]
    return names


@bp.post("/api/text")
def send_text() -> Response:
    body = _body()
    userid = _member(body.get("as"))
    content = str(body.get("content", "")).strip()
    if not content:
        raise SandboxError("请输入要发送的内容")
    if len(content) > MAX_TEXT_CHARS:
        raise SandboxError(f"消息太长（最多 {MAX_TEXT_CHARS} 字）")
    return jsonify(item=_act(userid, "text", content, callbacks.text_xml(_settings(), userid, content)))


@bp.post("/api/tap")
def tap_button() -> Response:
    """A card button tap: the card's current drop-down choices go with it, as in WeCom."""
    body = _body()
    userid = _member(body.get("as"))
    task_id, key = str(body.get("task_id", "")), str(body.get("key", ""))
    card = _card_for(userid, task_id)
    if card is None:
        raise SandboxError("找不到这张卡片")
    if card.get("replaced_by"):
        raise SandboxError("这张卡片已经处理过了")
    label = next((b.get("text", "") for b in card.get("button_list") or [] if b.get("key") == key), None)
    if label is None:
        raise SandboxError("卡片上没有这个按钮")
    selected = _selected(card, body.get("selected"))
    # WeCom puts a fresh single-use response code in every card event; the emulator issues it.
    xml = callbacks.template_card_event_xml(
        _settings(),
        userid,
        task_id=task_id,
        key=key,
        response_code=STATE.new_response_code(),
        selected=selected,
        card_type=str(card.get("card_type") or "button_interaction"),
    )
    return jsonify(item=_act(userid, "tap", label, xml, task_id=task_id))


def _card_for(userid: str, task_id: str) -> dict[str, Any] | None:
    for item in reversed(conversation(userid)):
        card = item.get("card")
        if card and card.get("task_id") == task_id:
            return card
    return None


def _selected(card: dict[str, Any], wanted: Any) -> dict[str, list[str]]:
    """Only the card's own questions and options; the card's default where nothing was chosen."""
    wanted = wanted if isinstance(wanted, dict) else {}
    selection = card.get("button_selection")
    if not selection:
        return {}
    question = selection.get("question_key", "")
    options = {o.get("id") for o in selection.get("option_list") or []}
    choice = wanted.get(question)
    choice = choice[0] if isinstance(choice, list) and choice else choice
    if choice not in options:
        choice = selection.get("selected_id")
    return {question: [str(choice)]} if choice else {}


@bp.post("/api/media")
def send_media() -> Response:
    """A voice note (AMR, as WeCom records them; other recordings are converted), a photo, or any file
    (WeCom's "file" message: MediaId and FileName; the bot imports a spreadsheet, keeps evidence, …)."""
    userid = _member(request.form.get("as"))
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    if upload is None:
        raise SandboxError("请选择要发送的文件")
    data = upload.read()
    if not data:
        raise SandboxError("文件是空的（0 字节），请选择有内容的文件")
    settings = _settings()
    if kind == "voice":
        amr = _as_amr(data)
        stored = STATE.add_media("voice", "voice.amr", "audio/amr", amr)
        xml = callbacks.voice_xml(settings, userid, stored.media_id, fmt="amr")
        label = "[语音]"
    elif kind == "image":
        content_type = _image_type(data)
        stored = STATE.add_media("image", upload.filename or "photo", content_type, data)
        xml = callbacks.image_xml(
            settings, userid, stored.media_id, pic_url=_base_url() + f"{bp.url_prefix}/api/media/{stored.media_id}"
        )
        label = "[图片]"
    elif kind == "file":
        name = _file_name(upload.filename)
        if len(data) > MAX_FILE_BYTES:
            raise SandboxError(f"文件太大（最大 {MAX_FILE_BYTES >> 20} MB）")
        content_type = upload.mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
        stored = STATE.add_media("file", name, content_type, data)
        xml = callbacks.file_xml(settings, userid, stored.media_id, name)
        media_url = f"{bp.url_prefix}/api/media/{stored.media_id}"
        return jsonify(item=_act(userid, kind, name, xml, media_url=media_url, size=_size(len(data))))
    else:
        raise SandboxError("只能发送语音、图片或文件")
    media_url = f"{bp.url_prefix}/api/media/{stored.media_id}"
    return jsonify(item=_act(userid, kind, label, xml, media_url=media_url))


def _file_name(raw: str | None) -> str:
    """The file's name as the member's phone gives it (no folders); WeCom always sends one."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:200] or "文件"


def _size(n: int) -> str:
    """The size under the name in the file bubble: 812 B, 12.3 KB, 4.5 MB."""
    if n < 1024:
        return f"{n} B"
    if n < 1 << 20:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1 << 20):.1f} MB"


def _as_amr(data: bytes) -> bytes:
    """WeCom voice messages are AMR; a wav/mp3/m4a note is converted the way a phone would record it."""
    if len(data) > MAX_VOICE_BYTES * 5:
        raise SandboxError("语音文件太大，请上传 60 秒以内的录音")
    kind = sniff(data)
    if kind not in ("amr", "wav", "mp3", "m4a", "silk"):
        raise SandboxError("不支持的语音格式，请上传 amr、mp3、m4a 或 wav 录音")
    try:
        amr = to_amr(data, kind)
    except AudioRejected as exc:
        raise SandboxError(exc.message) from exc
    if len(amr) > MAX_VOICE_BYTES:
        raise SandboxError("语音太长，企业微信的语音消息最长 60 秒")
    return amr


def _image_type(data: bytes) -> str:
    if len(data) > MAX_IMAGE_BYTES:
        raise SandboxError("图片太大（最大 10 MB）")
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = (image.format or "").upper()
    except (UnidentifiedImageError, OSError) as exc:
        raise SandboxError("这不是图片文件，请选择 JPG 或 PNG 照片") from exc
    types = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "BMP": "image/bmp", "WEBP": "image/webp"}
    if fmt not in types:
        raise SandboxError("不支持的图片格式，请选择 JPG 或 PNG 照片")
    return types[fmt]


def _base_url() -> str:
    """Where our own app answers: the emulator's base minus its prefix (reachable from this process)."""
    api_base = _settings().wecom.api_base.rstrip("/")
    if api_base.endswith(PREFIX or "/_wecom"):
        return api_base[: -len(PREFIX or "/_wecom")]
    return request.host_url.rstrip("/")


def _act(userid: str, kind: str, text: str, xml: str, **extra: str) -> dict[str, Any]:
    """Log the member's action, then deliver it; logged first, so the bot's reply lands after it."""
    item = MEMBER_LOG.add(userid, kind, text, **extra)
    try:
        _deliver(xml)
    except SandboxError:
        MEMBER_LOG.remove(userid, item)
        raise
    return item


def _deliver(xml: str) -> None:
    """Post the callback exactly as WeCom would; the bot stores it, acknowledges, and replies later."""
    try:
        response = callbacks.post_callback(_base_url(), _settings(), xml, timeout=10)
    except Exception as exc:  # requests' connection errors: the app cannot reach itself
        current_app.logger.warning("sandbox callback could not be delivered: %s", exc)
        raise SandboxError("回调发送失败：应用无法访问自己的 /wecom/callback", 502) from exc
    if response.status_code != 200:
        raise SandboxError(f"回调被拒绝（HTTP {response.status_code}）", 502)
