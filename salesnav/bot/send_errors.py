"""A failed send's last error, as the admin reads it: in Chinese, with what to do.

The outbox keeps the error as the client raised it (`"81013: invalid touser"`, `"WeCom unreachable:
ConnectTimeout"`), which is what logs and support need; the delivery log shows `explain()` of it.
Errors we wrote ourselves in Chinese are shown as they are.
"""

from __future__ import annotations

import re

# WeCom's errcodes for application messages (developer.work.weixin.qq.com/document/path/90313).
WECOM_ERRORS: dict[int, str] = {
    -1: "企业微信系统繁忙，稍后会自动重试",
    40001: "应用的 Secret 不正确，请检查 WECOM_SECRET",
    40003: "接收人的企业微信账号（UserID）无效",
    40007: "文件已失效或不存在（media_id 无效）",
    40008: "消息类型不受企业微信支持",
    40013: "企业 ID 不正确，请检查 WECOM_CORP_ID",
    40014: "访问凭证无效（access_token 不合法）",
    40056: "应用 ID 不正确，请检查 WECOM_AGENT_ID",
    40058: "消息内容不符合企业微信要求（参数不合法）",
    41001: "缺少访问凭证（access_token）",
    42001: "访问凭证已过期（access_token 过期）",
    44004: "消息内容为空",
    45002: "消息内容超过企业微信的长度限制",
    45009: "调用企业微信过于频繁（频率限制），稍后会自动重发",
    45033: "同时发送的请求过多（并发限制），稍后会自动重发",
    48002: "应用没有调用该接口的权限",
    60011: "应用无权给该成员发消息（不在应用的通讯录权限范围内）",
    60020: "服务器 IP 不在企业微信应用的可信 IP 名单中",
    60111: "接收人的企业微信账号（UserID）不存在",
    81013: "接收人不在应用的可见范围内，或已离职（UserID 无效）",
    82001: "接收人全部无效或无权限",
}

_NETWORK_ERRORS = {
    "ConnectTimeout": "连接企业微信超时",
    "ReadTimeout": "企业微信响应超时",
    "Timeout": "连接企业微信超时",
    "ConnectionError": "无法连接企业微信服务器（网络不通或地址错误）",
    "SSLError": "与企业微信建立安全连接失败（SSL 错误）",
    "TooManyRedirects": "企业微信地址重定向次数过多",
}
_CODED = re.compile(r"^\s*(-?\d+)\s*:\s*(.*)$", re.S)
_UNREACHABLE = re.compile(r"WeCom unreachable: (\w+)")
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
RATE_LIMIT_NOTE = "（企业微信频率限制，稍后重发）"  # what the outbox appends to a rate-limited send's error


def explain(last_error: str | None) -> str:
    """The last error in Chinese ("" when there is none)."""
    if not last_error:
        return ""
    text = last_error.replace(RATE_LIMIT_NOTE, "").strip()
    if coded := _CODED.match(text):
        code = int(coded.group(1))
        known = WECOM_ERRORS.get(code)
        return f"{known}（错误码 {code}）" if known else f"企业微信返回错误（错误码 {code}）"
    if unreachable := _UNREACHABLE.search(text):
        return _NETWORK_ERRORS.get(unreachable.group(1), "网络错误，无法连接企业微信服务器")
    if text.startswith("WeCom unreachable"):
        return "企业微信接口无响应或返回了 HTTP 错误"
    if _CHINESE.search(text):
        return text  # written in Chinese by the outbox itself (a file gone, attempts used up)
    return "发送出错（详见原始错误）"
