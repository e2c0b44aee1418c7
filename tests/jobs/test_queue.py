"""The queue: one `enqueue` for rq and in-process, idempotency keys, enqueue only after commit."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from salesnav import cli
from salesnav import settings as app_settings
from salesnav.jobs import heartbeat
from salesnav.jobs import queue as jobs_queue
from salesnav.models import JobRun, Task
from salesnav.models import session as db
from tests import factories as f
from tests.jobs import sample_jobs
from tests.jobs.sample_jobs import fail_once_then_record, record_run


def _runs(session, label):
    session.expire_all()
    return len(session.scalars(select(Task).where(Task.title == label)).all())


def _user(session):
    org = f.org(session)
    session.commit()
    return org.rep.id


@pytest.mark.smoke
def test_in_process_job_enqueued_twice_with_the_same_key_runs_once(session):
    rep_id = _user(session)
    backend = jobs_queue.configure("")
    jobs_queue.enqueue(record_run, rep_id, "hello", key="greet:1")
    jobs_queue.enqueue(record_run, rep_id, "hello", key="greet:1")
    jobs_queue.enqueue(record_run, rep_id, "hello", key="greet:2")
    backend.drain()
    assert _runs(session, "hello") == 2
    assert {r.status for r in session.scalars(select(JobRun))} == {"done"}


def test_rq_job_enqueued_twice_with_the_same_key_runs_once(session, redis_url):
    rep_id = _user(session)
    backend = jobs_queue.configure(redis_url)
    jobs_queue.enqueue(record_run, rep_id, "rq-hello", key="rq:1", queue="rules")
    jobs_queue.enqueue(record_run, rep_id, "rq-hello", key="rq:1", queue="rules")
    backend.drain()
    jobs_queue.enqueue(record_run, rep_id, "rq-hello", key="rq:1", queue="rules")  # already done
    backend.drain()
    assert _runs(session, "rq-hello") == 1


@pytest.mark.smoke
def test_a_commands_own_jobs_run_in_it_but_deliveries_are_left_to_the_running_server(session):
    rep_id = _user(session)
    backend = jobs_queue.configure_for_command("")
    jobs_queue.enqueue(record_run, rep_id, "rule action", key="cmd:1", queue="rules")
    jobs_queue.enqueue(record_run, rep_id, "delivery", key="cmd:2", queue="outbound")
    backend.drain()
    assert (_runs(session, "rule action"), _runs(session, "delivery")) == (1, 0)
    assert backend.messages == 1


def test_with_rq_a_command_leaves_deliveries_on_the_outbound_queue_for_the_workers(session, redis_url):
    rep_id = _user(session)
    command = jobs_queue.configure_for_command(redis_url)
    jobs_queue.enqueue(record_run, rep_id, "rq rule action", key="cmd:rq:1", queue="rules")
    jobs_queue.enqueue(record_run, rep_id, "rq delivery", key="cmd:rq:2", queue="outbound")
    command.drain()  # what a command may run itself: never the outbound queue
    assert (_runs(session, "rq rule action"), _runs(session, "rq delivery"), command.messages) == (1, 0, 1)
    jobs_queue.configure(redis_url).drain()  # the workers
    assert _runs(session, "rq delivery") == 1


@pytest.mark.smoke
def test_in_process_a_slow_job_never_holds_up_a_quick_one():
    # As the Procfile's two workers: an alert (rules) runs while an import (reports) is still running.
    backend = jobs_queue.configure("", concurrent=True)
    sample_jobs.RELEASED.clear()
    sample_jobs.REACHED.clear()
    try:
        jobs_queue.enqueue(sample_jobs.wait_until_released, queue="reports")
        jobs_queue.enqueue(sample_jobs.mark_reached, queue="rules")
        assert sample_jobs.REACHED.wait(timeout=10)
        assert backend.status()["pending"] == 1  # the slow job, still running
    finally:
        sample_jobs.RELEASED.set()
    backend.drain()
    assert backend.status()["pending"] == 0
    jobs_queue.configure("")  # the default for the tests that follow


def test_on_sqlite_a_media_job_waiting_for_its_clip_lets_another_job_use_the_database():
    # Job threads take turns at SQLite; a clip in the media pool must not hold the turn for seconds.
    backend = jobs_queue.configure("", concurrent=False)
    sample_jobs.REACHED.clear()
    sample_jobs.CLIP_SAW_OTHER_JOB.clear()
    jobs_queue.enqueue(sample_jobs.wait_for_a_clip, queue="media")
    jobs_queue.enqueue(sample_jobs.mark_reached, queue="rules")
    backend.drain()
    assert sample_jobs.CLIP_SAW_OTHER_JOB == [True]
    jobs_queue.configure("")


def test_in_process_jobs_run_on_one_thread_on_sqlite_and_on_two_otherwise(session):
    # SQLite has one writer; a second thread would only make a job's savepoint fail when both write.
    expected = session.get_bind().dialect.name != "sqlite"
    assert jobs_queue.configure("").concurrent() is expected


@pytest.mark.smoke
def test_job_is_enqueued_only_when_the_transaction_commits(session):
    rep_id = _user(session)
    backend = jobs_queue.configure("")
    with pytest.raises(RuntimeError), db.transaction() as tx:
        jobs_queue.enqueue_after_commit(tx, record_run, rep_id, "after-commit", key="ac:1")
        raise RuntimeError("rolled back")
    backend.drain()
    assert _runs(session, "after-commit") == 0
    with db.transaction() as tx:
        jobs_queue.enqueue_after_commit(tx, record_run, rep_id, "after-commit", key="ac:2")
        backend.drain()
        assert _runs(session, "after-commit") == 0  # not yet: still inside the transaction
    backend.drain()
    assert _runs(session, "after-commit") == 1


@pytest.mark.smoke
def test_releasing_a_savepoint_is_not_a_commit_so_the_job_waits_for_the_outer_one(session):
    # A job queued at a SAVEPOINT's release ran before its row was committed (on PostgreSQL it found nothing).
    rep_id = _user(session)
    backend = jobs_queue.configure("")
    with db.transaction() as tx:
        jobs_queue.enqueue_after_commit(tx, record_run, rep_id, "outer-commit", key="sp:1")
        with tx.begin_nested():
            jobs_queue.enqueue_after_commit(tx, record_run, rep_id, "outer-commit", key="sp:2")
        backend.drain()
        assert _runs(session, "outer-commit") == 0  # both savepoint and transaction still open to the world
    backend.drain()
    assert _runs(session, "outer-commit") == 2


def test_a_job_asked_for_inside_a_rolled_back_savepoint_is_dropped_with_it(session):
    rep_id = _user(session)
    backend = jobs_queue.configure("")
    with db.transaction() as tx:
        jobs_queue.enqueue_after_commit(tx, record_run, rep_id, "kept", key="sp:kept")
        with pytest.raises(RuntimeError), tx.begin_nested():
            jobs_queue.enqueue_after_commit(tx, record_run, rep_id, "undone", key="sp:undone")
            raise RuntimeError("the savepoint is rolled back")
    backend.drain()
    assert (_runs(session, "kept"), _runs(session, "undone")) == (1, 0)


@pytest.mark.smoke
def test_a_failed_run_releases_its_key_so_a_retry_runs(session):
    rep_id = _user(session)
    backend = jobs_queue.configure("")
    jobs_queue.enqueue(fail_once_then_record, rep_id, "flaky", key="flaky:1")
    backend.drain()
    assert session.scalars(select(JobRun)).one().status == "failed"
    jobs_queue.enqueue(fail_once_then_record, rep_id, "flaky", key="flaky:1")
    backend.drain()
    session.expire_all()
    run = session.scalars(select(JobRun)).one()
    assert (run.status, run.attempts) == ("done", 2)
    assert _runs(session, "flaky") == 1


def test_unknown_queue_is_refused():
    with pytest.raises(ValueError, match="unknown queue"):
        jobs_queue.enqueue(record_run, 1, "x", queue="nope")


def test_a_worker_given_queues_works_only_those(session, redis_url, monkeypatch):
    # The Procfile's `worker` takes the quick queues and `reports` the slow ones: an import never delays an alert.
    monkeypatch.setattr(app_settings, "_configured", app_settings._configured)  # the CLI configures the process
    monkeypatch.setattr(heartbeat, "_redis_url", heartbeat._redis_url)
    rep_id = _user(session)
    jobs_queue.configure(redis_url)
    jobs_queue.enqueue(record_run, rep_id, "alert", key="q:alert", queue="rules")
    jobs_queue.enqueue(record_run, rep_id, "import", key="q:import", queue="reports")
    env = {"DATABASE_URL": str(session.get_bind().url.render_as_string(hide_password=False)), "REDIS_URL": redis_url}

    result = CliRunner().invoke(cli.main, ["worker", "--burst", "--queues", "inbound,outbound,rules,default"], env=env)
    assert result.exit_code == 0, result.output
    assert (_runs(session, "alert"), _runs(session, "import")) == (1, 0)

    result = CliRunner().invoke(cli.main, ["worker", "--burst", "--queues", "media,reports"], env=env)
    assert result.exit_code == 0, result.output
    assert (_runs(session, "alert"), _runs(session, "import")) == (1, 1)


def test_a_worker_refuses_an_unknown_queue_in_chinese():
    result = CliRunner().invoke(cli.main, ["worker", "--queues", "rules,alerts"], env={"REDIS_URL": ""})
    assert result.exit_code != 0
    assert "未知的队列：alerts" in result.output
