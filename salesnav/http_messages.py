"""The Chinese words of HTTP failures, shared by the app's JSON errors, the H5 pages and the mini-program API.

One definition each, so a page and the API never call the same failure two different things.
"""

from __future__ import annotations

# JSON answers (the app's error handler, the mini-program API).
HTTP_MESSAGES_ZH = {
    400: "请求格式不正确",
    403: "无权访问",
    404: "页面或资源不存在",
    405: "不支持该请求方法",
    413: "上传内容过大",
    415: "不支持的内容类型",
    429: "请求过于频繁，请稍后再试",
}
# A page a person opened in the browser (dashboards, reports): said about the page.
PAGE_MESSAGES_ZH = {400: "请求不正确", 401: "请先登录", 403: "您无权查看此页面", 404: "页面不存在", 405: "不支持该操作"}
# The domain errors that are HTTP statuses of their own; any other domain error is a 400.
STATUS_FOR_DOMAIN_ERROR = {"not_found": 404, "forbidden": 403}
