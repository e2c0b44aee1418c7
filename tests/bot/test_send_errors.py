"""A failed send's last error in Chinese for the delivery log: WeCom errcodes, network errors, our own words."""

from __future__ import annotations

import pytest

from salesnav.bot.send_errors import explain


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("81013: rep99 is not a member", "接收人不在应用的可见范围内，或已离职（UserID 无效）（错误码 81013）"),
        ("60020: not allow to access from your ip", "服务器 IP 不在企业微信应用的可信 IP 名单中（错误码 60020）"),
        (
            "45009: freq out of limit（企业微信频率限制，稍后重发）",  # as the outbox keeps a rate-limited send's error
            "调用企业微信过于频繁（频率限制），稍后会自动重发（错误码 45009）",
        ),
        ("-1: system busy", "企业微信系统繁忙，稍后会自动重试（错误码 -1）"),
        ("99999: something new", "企业微信返回错误（错误码 99999）"),
        ("WeCom unreachable: ConnectionError", "无法连接企业微信服务器（网络不通或地址错误）"),
        ("WeCom unreachable: ReadTimeout", "企业微信响应超时"),
        ("WeCom unreachable: ChunkedEncodingError", "网络错误，无法连接企业微信服务器"),
        ("WeCom unreachable or HTTP error", "企业微信接口无响应或返回了 HTTP 错误"),
        ("待发送的文件已不在服务器上：华山医院-触点记录.pdf", "待发送的文件已不在服务器上：华山医院-触点记录.pdf"),
        ("重试次数已用完", "重试次数已用完"),
        ("media/get answered JSON instead of the file", "发送出错（详见原始错误）"),
        (None, ""),
    ],
)
def test_the_last_error_is_shown_in_chinese(stored, shown):
    assert explain(stored) == shown
