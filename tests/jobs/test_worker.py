"""`salesnav worker`: configured like every other process, no fork per job, and it outlives a Redis outage."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from redis import Redis
from rq import Queue
from sqlalchemy import select

from salesnav import cli
from salesnav import settings as app_settings
from salesnav.jobs import heartbeat
from salesnav.jobs import queue as jobs_queue
from salesnav.models import JobRun, Task
from tests import factories as f
from tests.conftest import REQUIRE_SERVICES
from tests.jobs.sample_jobs import record_pid, record_run, record_then_queue


@pytest.fixture
def cli_process_state(monkeypatch):
    """The CLI configures the process it runs in (here: the test's); put it back afterwards."""
    monkeypatch.setattr(app_settings, "_configured", app_settings._configured)
    monkeypatch.setattr(heartbeat, "_redis_url", heartbeat._redis_url)


def _titles(session):
    session.expire_all()
    return sorted(t.title for t in session.scalars(select(Task)))


def _rep(session):
    org = f.org(session)
    session.commit()
    return org.rep.id


def _env(session, redis_url):
    return {"DATABASE_URL": session.get_bind().url.render_as_string(hide_password=False), "REDIS_URL": redis_url}


def test_a_job_queued_from_inside_a_job_runs_under_salesnav_worker(session, redis_url, cli_process_state):
    """Seen: the worker never configured the queue, so a job's own jobs (a touchpoint's rule events) ran on a
    thread of rq's work horse, which ended with the job: never dispatched."""
    rep_id = _rep(session)
    jobs_queue.configure(redis_url)
    jobs_queue.enqueue(record_then_queue, rep_id, "touchpoint", key="outer:1", queue="inbound")
    jobs_queue.configure("")  # a worker process starts with the in-process default until it configures itself

    env = _env(session, redis_url)
    result = CliRunner().invoke(cli.main, ["worker", "--burst", "--queues", "inbound"], env=env)
    assert result.exit_code == 0, result.output
    assert Queue("rules", connection=Redis.from_url(redis_url)).count == 1  # queued to rq, for whichever worker
    assert _titles(session) == ["touchpoint"]
    result = CliRunner().invoke(cli.main, ["worker", "--burst", "--queues", "rules"], env=env)
    assert result.exit_code == 0, result.output
    assert _titles(session) == ["touchpoint", "touchpoint:nested"]
    runs = {r.key: (r.status, r.queue) for r in session.scalars(select(JobRun))}
    assert runs == {"outer:1": ("done", "inbound"), "nested:touchpoint": ("done", "rules")}


def test_the_worker_runs_jobs_in_its_own_process(session, redis_url, cli_process_state):
    """Seen: a fork per inbound job (~0.7 s each) put chat replies minutes behind at 4 messages a second."""
    rep_id = _rep(session)
    jobs_queue.configure(redis_url)
    for i in range(3):
        jobs_queue.enqueue(record_pid, rep_id, key=f"pid:{i}", queue="inbound")

    result = CliRunner().invoke(cli.main, ["worker", "--burst", "--queues", "inbound"], env=_env(session, redis_url))
    assert result.exit_code == 0, result.output
    assert _titles(session) == [f"pid:{os.getpid()}"] * 3  # this process (CliRunner runs the command here)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(port: int, workdir: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return proc
        except Exception:
            time.sleep(0.05)
    raise AssertionError("redis-server did not start")


def test_the_worker_outlives_a_redis_outage(session, database, redis_url, tmp_path):
    """Seen: the quick worker exited on a Redis outage ("unhandled exception, quitting") and stayed down."""
    if shutil.which("redis-server") is None:
        if REQUIRE_SERVICES:
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server not installed")
    rep_id = _rep(session)
    port = _free_port()
    own_redis = f"redis://127.0.0.1:{port}/0"
    server = _start_redis(port, tmp_path)
    cli_path = Path(sys.executable).with_name("salesnav")
    env = {**os.environ, **_env(session, own_redis), "SALESNAV_DATA_DIR": str(tmp_path)}
    worker = subprocess.Popen(
        [str(cli_path), "worker", "--queues", "inbound"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        jobs_queue.configure(own_redis)
        jobs_queue.enqueue(record_run, rep_id, "before", key="before", queue="inbound")
        _wait_for(lambda: "before" in _titles(session))

        server.terminate()
        server.wait(timeout=10)
        time.sleep(3)  # the worker meets the outage: its blocking dequeue and its heartbeat fail
        assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""

        server = _start_redis(port, tmp_path)
        jobs_queue.enqueue(record_run, rep_id, "after", key="after", queue="inbound")
        _wait_for(lambda: "after" in _titles(session), seconds=30)
        assert worker.poll() is None
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
        server.terminate()
        server.wait(timeout=10)
        jobs_queue.configure("")


def _wait_for(condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)  # another process works: we can only poll it
    raise AssertionError("condition not met in time")
