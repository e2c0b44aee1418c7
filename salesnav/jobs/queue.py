"""One way to run work in the background: `enqueue(job, *ids, key=...)`.

With `REDIS_URL` set, jobs go to rq (named queues, so a burst of OCR never delays an
alert); without it, in-process worker threads run them (the embedded default): one for the
quick queues and one for the slow ones, as the Procfile's `worker` and `reports` processes.
Jobs are module-level functions taking ids and plain values. Inside a unit of work use
`enqueue_after_commit`, so a worker never looks for a row that is not committed yet.

Handing a committed job to the queue may fail (Redis down). That never fails the request or job that
committed: a keyed job is written down as a `queued` JobRun instead, and the recovery sweep
(salesnav/jobs/recovery.py) queues it once Redis answers again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import queue as stdlib_queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from salesnav import clock, media_pool
from salesnav.jobs.runner import run_job
from salesnav.models import JobRun
from salesnav.models import session as db
from salesnav.redis_client import redis_client

log = logging.getLogger(__name__)

QUEUES = ("inbound", "outbound", "rules", "media", "reports", "default")
OUTBOUND = "outbound"  # WeCom deliveries (salesnav/bot/outbox.py)
SLOW_QUEUES = frozenset({"media", "reports"})  # speech, OCR, imports, battle packs, dashboard snapshots


@dataclass(frozen=True)
class JobCall:
    path: str  # "module:function"
    args: tuple[Any, ...]
    key: str | None
    queue: str


Job = Callable[..., Any] | str  # a function, or its "module:function" path when the caller sits below it


def job_path(job: Job) -> str:
    return job if isinstance(job, str) else f"{job.__module__}:{job.__qualname__}"


def resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


class _Lane:
    """Worker threads sharing one queue."""

    def __init__(self, name: str, threads: int = 1) -> None:
        self.name = name
        self.queue: stdlib_queue.Queue[JobCall] = stdlib_queue.Queue()
        self.size = threads
        self.threads: list[threading.Thread] = []


class InProcessBackend:
    """Worker threads in this process: one for the quick queues (inbound, outbound, rules, default), one for the
    reports queue, and one per media pool process for the media queue (speech, OCR: each thread waits for its clip
    in salesnav/media_pool.py, so four managers' voice notes are heard side by side). An alert never waits behind
    an import, a battle pack or a speech model. `drain()` waits until everything queued, in all of them, has run
    (a job may queue more in another).

    On SQLite (`concurrent` None decides by the database) the threads take turns: one job at a time touches the
    database, and a media job gives its turn back while its clip is in the pool. SQLite has one writer at a time,
    and a transaction that read before it writes fails at once, without waiting, when another thread wrote in
    between — the embedded default never fails a job for that, and still hears several voice notes at once."""

    def __init__(self, concurrent: bool | None = None) -> None:
        self._lanes = {
            "quick": _Lane("quick"),
            "slow": _Lane("slow"),
            "media": _Lane("media", threads=media_pool.size()),
        }
        self._lock = threading.Lock()
        self._concurrent = concurrent
        self._pending: dict[str, int] = {}
        self._turn = threading.Lock()  # SQLite: the one job thread at the database
        self._holding = threading.local()
        media_pool.set_waiting(self._turn_given_back)

    def concurrent(self) -> bool:
        if self._concurrent is not None:
            return self._concurrent
        try:
            return db.get_engine().dialect.name != "sqlite"
        except RuntimeError:  # no database yet: nothing can be written either
            return False

    def submit(self, call: JobCall) -> None:
        if call.queue == "media":
            lane = self._lanes["media"]
        else:
            lane = self._lanes["slow" if call.queue in SLOW_QUEUES and self.concurrent() else "quick"]
        self._ensure_thread(lane)
        with self._lock:
            if call.key:
                self._pending[call.key] = self._pending.get(call.key, 0) + 1
        lane.queue.put(call)

    def is_pending(self, key: str) -> bool:
        """Whether a job with this key waits or runs in this process (the recovery sweep leaves it be)."""
        with self._lock:
            return self._pending.get(key, 0) > 0

    def _done(self, call: JobCall) -> None:
        if call.key:
            with self._lock:
                left = self._pending.get(call.key, 0) - 1
                if left > 0:
                    self._pending[call.key] = left
                else:
                    self._pending.pop(call.key, None)

    def _ensure_thread(self, lane: _Lane) -> None:
        with self._lock:
            lane.threads = [thread for thread in lane.threads if thread.is_alive()]
            while len(lane.threads) < lane.size:
                thread = threading.Thread(
                    target=self._loop,
                    args=(lane,),
                    name=f"salesnav-jobs-{lane.name}-{len(lane.threads)}",
                    daemon=True,
                )
                thread.start()
                lane.threads.append(thread)

    def _loop(self, lane: _Lane) -> None:
        while True:
            call = lane.queue.get()
            try:
                with self._my_turn():
                    run_job(call.path, list(call.args), call.key, call.queue)
            except Exception:
                log.exception("in-process job %s failed", call.path)
            finally:
                self._done(call)
                lane.queue.task_done()

    @contextlib.contextmanager
    def _my_turn(self) -> Iterator[None]:
        if self.concurrent():
            yield
            return
        with self._turn:
            self._holding.turn = True
            try:
                yield
            finally:
                self._holding.turn = False

    @contextlib.contextmanager
    def _turn_given_back(self) -> Iterator[None]:
        """While a job thread's clip is in the media pool, another job thread may use the database."""
        if not getattr(self._holding, "turn", False):
            yield
            return
        self._turn.release()
        try:
            yield
        finally:
            self._turn.acquire()

    def drain(self) -> None:
        while True:
            for lane in self._lanes.values():
                lane.queue.join()
            if not any(lane.queue.unfinished_tasks for lane in self._lanes.values()):
                return

    def status(self) -> dict[str, Any]:
        return {"backend": "in-process", "pending": sum(lane.queue.unfinished_tasks for lane in self._lanes.values())}


class RqBackend:
    def __init__(self, redis_url: str) -> None:
        self.redis = redis_client(redis_url)

    def submit(self, call: JobCall) -> None:
        from rq import Queue  # rq only when REDIS_URL is set

        Queue(call.queue, connection=self.redis).enqueue(
            run_job,
            call.path,
            list(call.args),
            call.key,
            call.queue,
            # rq keeps one job hash per id; the JobRun row is what makes a second run a no-op.
            job_id=_rq_job_id(call.key) if call.key else None,
            retry=None,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )

    def requeue(self, call: JobCall) -> None:
        """Queue a keyed job again (the recovery sweep): its earlier rq job, perhaps still recorded as started by a
        worker that died, is forgotten first."""
        from rq.exceptions import NoSuchJobError  # rq only when REDIS_URL is set
        from rq.job import Job  # rq only when REDIS_URL is set

        if call.key:
            try:
                Job.fetch(_rq_job_id(call.key), connection=self.redis).delete()
            except NoSuchJobError:
                pass
        self.submit(call)

    def is_pending(self, key: str) -> bool:
        """Whether the key's rq job waits in a queue (the recovery sweep leaves it be)."""
        from rq.exceptions import NoSuchJobError  # rq only when REDIS_URL is set
        from rq.job import Job, JobStatus  # rq only when REDIS_URL is set

        try:
            job = Job.fetch(_rq_job_id(key), connection=self.redis)
        except NoSuchJobError:
            return False
        return job.get_status(refresh=False) in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)

    def drain(self, exclude: tuple[str, ...] = ()) -> None:
        """Run everything queued now (but the `exclude`d queues), in this process (tests, CLI)."""
        from rq import Queue, SimpleWorker  # rq only when REDIS_URL is set

        queues = [Queue(name, connection=self.redis) for name in QUEUES if name not in exclude]
        SimpleWorker(queues, connection=self.redis).work(burst=True, with_scheduler=False)

    def status(self) -> dict[str, Any]:
        from rq import Queue  # rq only when REDIS_URL is set

        self.redis.ping()
        return {"backend": "rq", "pending": sum(len(Queue(n, connection=self.redis)) for n in QUEUES)}


class CommandBackend:
    """The jobs of a CLI command. Its own work runs as usual (rq's workers with `REDIS_URL`, else threads of this
    process, drained before the command exits), but delivery is never this process's: the outbox rows a command
    queues are sent by the running workers — rq's outbound queue, or in the embedded default the periodic outbox
    flush of `salesnav serve`. A command therefore never talks to WeCom, nor guesses where a server (and its
    emulator) listens. `messages` counts the deliveries the command left to the workers."""

    def __init__(self, redis_url: str) -> None:
        self.inner: InProcessBackend | RqBackend = RqBackend(redis_url) if redis_url else InProcessBackend()
        self.by_workers = "rq" if redis_url else "serve"
        self._count = 0
        self._lock = threading.Lock()

    @property
    def messages(self) -> int:
        return self._count

    def submit(self, call: JobCall) -> None:
        if call.queue == OUTBOUND:
            with self._lock:  # a delivery job carries one message per id: a list of ids is a batch
                first = call.args[0] if call.args else None
                self._count += len(first) if isinstance(first, list | tuple) else 1
            if isinstance(self.inner, InProcessBackend):
                return  # the row stays queued; the server's outbox flush (every few seconds) sends it
        self.inner.submit(call)

    def drain(self) -> None:
        """Run the command's own work queued so far, here; deliveries stay with the workers."""
        if isinstance(self.inner, RqBackend):
            self.inner.drain(exclude=(OUTBOUND,))
        else:
            self.inner.drain()

    def status(self) -> dict[str, Any]:
        return self.inner.status()

    def is_pending(self, key: str) -> bool:
        return self.inner.is_pending(key)


def _rq_job_id(key: str) -> str:
    # rq ids must be safe in Redis key names; keys may hold ':' and Chinese text.
    return "k" + hashlib.sha256(key.encode()).hexdigest()[:40]


Backend = InProcessBackend | RqBackend | CommandBackend
_backend: Backend = InProcessBackend()


def configure(redis_url: str, *, concurrent: bool | None = None) -> InProcessBackend | RqBackend:
    """rq with a Redis URL, else in-process threads (`concurrent`: see InProcessBackend)."""
    global _backend
    configured = RqBackend(redis_url) if redis_url else InProcessBackend(concurrent)
    _backend = configured
    return configured


def configure_for_command(redis_url: str) -> CommandBackend:
    """The backend of a CLI command: see CommandBackend."""
    global _backend
    command = CommandBackend(redis_url)
    _backend = command
    return command


def backend() -> Backend:
    return _backend


def enqueue(job: Job, *ids: Any, key: str | None = None, queue: str = "default") -> None:
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    _backend.submit(JobCall(job_path(job), tuple(ids), key, queue))


_PENDING = "salesnav_pending_jobs"


def enqueue_after_commit(session: Session, job: Job, *ids: Any, key: str | None = None, queue: str = "default") -> None:
    """Queue the job when (and only if) this session's outermost transaction commits.

    Releasing a SAVEPOINT (`begin_nested`) is not a commit: nothing is visible to another connection yet, so a
    job queued then could run before its row exists (on PostgreSQL a voice annotation's job found no row and was
    lost). A job asked for inside a savepoint that is rolled back is dropped with it."""
    session.info.setdefault(_PENDING, []).append((session.get_nested_transaction(), (job, ids, key, queue)))


_GATHERED = "salesnav_gathered_jobs"

Calls = list[tuple[Job, tuple[Any, ...], str | None, str]]  # (job, args, key, queue) each


@dataclass
class _Gathered:
    """Items gathered in one transaction under a name; at commit `make(items)` says which jobs to queue for them."""

    items: list[Any]
    make: Callable[[list[Any]], Calls]


def gather_after_commit(session: Session, name: str, item: Any, make: Callable[[list[Any]], Calls]) -> None:
    """Gather `item` with the others given under `name` in this session's transaction; when it commits,
    `make(items)` gives the jobs to queue for all of them — one job for a batch instead of one per item (the
    outbox: every message a unit of work queued, in one delivery job). Rolled back with the transaction; an item
    gathered in a savepoint that is rolled back may stay in the batch, so the job must find nothing to do for it."""
    gathered = session.info.setdefault(_GATHERED, {})
    if name in gathered:
        gathered[name].items.append(item)
        return
    batch = _Gathered([item], make)
    gathered[name] = batch
    session.info.setdefault(_PENDING, []).append((session.get_nested_transaction(), batch))


@event.listens_for(Session, "after_commit")
def _flush_pending_jobs(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT released: the outer transaction has not committed yet
        return
    session.info.pop(_GATHERED, None)
    calls: Calls = []
    for _savepoint, pending in session.info.pop(_PENDING, []):
        calls += pending.make(pending.items) if isinstance(pending, _Gathered) else [pending]
    for job, ids, key, queue in calls:
        try:
            enqueue(job, *ids, key=key, queue=queue)
        except Exception as exc:
            # What committed stays committed, and its caller (a WeCom callback, an API call) gets its answer.
            log.warning("could not queue %s (%s): %s; the recovery sweep will", job_path(job), key, exc)
            record_unqueued(JobCall(job_path(job), tuple(ids), key, queue))


def record_unqueued(call: JobCall) -> None:
    """Write down a job the queue refused, as a `queued` JobRun the recovery sweep hands over later."""
    if call.key is None:
        log.error("job %s without a key could not be queued and is dropped", call.path)
        return
    try:
        with db.transaction() as session:
            run = session.scalars(select(JobRun).where(JobRun.key == call.key)).first()
            if run is None:
                session.add(
                    JobRun(
                        key=call.key,
                        job=call.path,
                        args=list(call.args),
                        queue=call.queue,
                        status="queued",
                        attempts=0,
                        started_at=clock.now(),
                    )
                )
            elif run.status == "failed":  # queued again on purpose (reprocess, resend)
                run.status, run.queue, run.started_at = "queued", call.queue, clock.now()
    except Exception:
        log.exception("could not record unqueued job %s (%s)", call.path, call.key)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending_jobs(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the outermost transaction was rolled back
        session.info.pop(_PENDING, None)
        session.info.pop(_GATHERED, None)
    elif previous_transaction.nested and _PENDING in session.info:  # a SAVEPOINT rolled back: its jobs with it
        kept = [item for item in session.info[_PENDING] if not _within(item[0], previous_transaction)]
        session.info[_PENDING] = kept
        if _GATHERED in session.info:  # a batch begun in the savepoint went with it: the next item begins another
            alive = {id(item[1]) for item in kept}
            session.info[_GATHERED] = {n: b for n, b in session.info[_GATHERED].items() if id(b) in alive}


def _within(savepoint: Any, rolled_back: Any) -> bool:
    while savepoint is not None:
        if savepoint is rolled_back:
            return True
        savepoint = savepoint.parent
    return False
