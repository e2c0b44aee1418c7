"""How a CLI command's messages leave: it only queues them in the outbox, and says who sends them.

A command never talks to WeCom itself. Before, `rules run` and `battle-pack send` sent from their own
process to a WeCom API base guessed from PORT; with the server on another port every send failed, and the
messages waited in the queue for retries stamped days ahead (`--at`), unseen.
"""

from __future__ import annotations

from salesnav.jobs import queue as jobs_queue
from salesnav.settings import Settings


def start(settings: Settings) -> jobs_queue.CommandBackend:
    """This process's settings and the command's job backend (see jobs.queue.CommandBackend)."""
    from salesnav import settings as app_settings

    app_settings.configure(settings)
    return jobs_queue.configure_for_command(settings.redis_url)


def describe(backend: jobs_queue.CommandBackend) -> str:
    """The line a command ends with: how many messages it queued, and who sends them."""
    if backend.messages == 0:
        return "没有新的企业微信消息需要发送"
    if backend.by_workers == "rq":
        return f"已排队 {backend.messages} 条消息，由运行中的 worker 进程发送；发送情况见管理后台「消息投递」"
    return (
        f"已排队 {backend.messages} 条消息，由运行中的服务（salesnav serve）发送；服务未运行时，在它启动后发送。"
        "发送情况见管理后台「消息投递」"
    )
