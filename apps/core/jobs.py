"""Background jobs: Procrastinate on PostgreSQL, in process after commit without it.

How they run, retry and recover, and how to resend a failed one: docs/jobs.md. Apps declare a
job with ``@job`` in their ``tasks.py`` and enqueue it with ``apps.core.tasks.enqueue_on_commit``.

- ``JOBS_BACKEND=procrastinate`` (production, the compose stacks): the job row is written by one
  statement on Django's connection, so it commits or rolls back with the caller's transaction; a
  worker (``python manage.py jobs_worker``: Procrastinate's, under ``WorkerSupervisor``) runs it,
  retries it with exponential backoff on transient errors (``RETRY``), and the periodic
  ``retry_stalled_jobs`` job puts the jobs of a worker that died back in the queue.
- ``JOBS_BACKEND=in_process`` (``make run``, tests, any database): the job runs in the caller's
  process right after its transaction commits, and never if it rolls back; a failure is logged.

Every job gets an idempotency key when it is enqueued (its ``job_key`` argument, a random hex
string kept in the job row): the same on each retry, another for each enqueue. The job's code
reads it with ``current_job_key()``, e.g. to send an email at most once per job.
"""

import asyncio
import contextlib
import contextvars
import functools
import inspect
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError, connections, transaction
from django.utils import timezone
from procrastinate import BaseRetryStrategy, RetryDecision, RetryStrategy
from procrastinate import jobs as procrastinate_jobs
from procrastinate.contrib.django import app
from procrastinate.contrib.django import settings as procrastinate_settings
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.manager import JobManager
from procrastinate.tasks import Task
from procrastinate.worker import Worker

logger = logging.getLogger(__name__)

PROCRASTINATE = "procrastinate"  # JOBS_BACKEND; the other value is "in_process"

# Failures worth another attempt: the SMTP server or the network (smtplib.SMTPException,
# ConnectionError, TimeoutError and socket errors are all OSError) and a lost or busy database.
# A programming error (TypeError, KeyError, a missing template...) fails the job at once.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OSError, OperationalError, InterfaceError)

_current_job_key: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "silkcart_job_key", default=None
)


class TransientErrorRetry(BaseRetryStrategy):
    """Retry on ``TRANSIENT_ERRORS`` only, ``JOBS_MAX_RETRIES`` times, with exponential backoff.

    Retry n (from 1) waits ``JOBS_RETRY_BASE_WAIT ** n`` seconds: 3, 9, 27, ... 59049 s, about a
    day in all, with the defaults (10 and 3). Read from the settings at each failure.
    """

    def get_retry_decision(
        self, *, exception: BaseException, job: procrastinate_jobs.Job
    ) -> RetryDecision | None:
        if settings.JOBS_MAX_RETRIES <= 0:  # RetryStrategy takes 0 attempts as "no limit"
            return None
        return RetryStrategy(
            max_attempts=settings.JOBS_MAX_RETRIES,
            exponential_wait=settings.JOBS_RETRY_BASE_WAIT,
            retry_exceptions=TRANSIENT_ERRORS,
        ).get_retry_decision(exception=exception, job=job)


RETRY = TransientErrorRetry()


def job(func: Callable[..., None]) -> Task:
    """Declare ``func`` a background job (a Procrastinate task named by its dotted path).

    Its arguments are JSON values (ids, not objects). It is retried on transient errors
    (``RETRY``); while it runs, ``current_job_key()`` is its idempotency key.
    """

    @functools.wraps(func)
    def run(*, job_key: str, **kwargs: Any) -> None:
        token = _current_job_key.set(job_key)
        try:
            func(**kwargs)
        finally:
            _current_job_key.reset(token)

    return app.task(retry=RETRY)(run)


def current_job_key() -> str:
    """The idempotency key of the running job; outside a job, a new key at each call."""
    return _current_job_key.get() or f"direct-{uuid.uuid4().hex}"


def job_arguments(task: Task, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The job's arguments by name, as stored in its row (JSON), with a new idempotency key."""
    bound = inspect.signature(task.func).bind(*args, **kwargs)
    return {**json.loads(json.dumps(bound.arguments)), "job_key": uuid.uuid4().hex}


def uses_procrastinate() -> bool:
    return settings.JOBS_BACKEND == PROCRASTINATE


def _django_job_manager() -> JobManager:
    """Procrastinate's job API on Django's connection, so in its current transaction.

    Django's connection even in a worker (whose app runs on a pool of its own): a job enqueued
    or retried by a job joins that job's transaction too.
    """
    alias = procrastinate_settings.settings.DATABASE_ALIAS
    if connections[alias].vendor != "postgresql":
        raise ImproperlyConfigured(
            "JOBS_BACKEND=procrastinate needs PostgreSQL; use JOBS_BACKEND=in_process."
        )
    return JobManager(DjangoConnector(alias=alias))


def defer_in_transaction(task: Task, arguments: dict[str, Any], *, schedule_at=None) -> int:
    """Write the job row in the current transaction (one statement); the job's id.
    ``schedule_at``: the job waits for that time."""
    deferrer = procrastinate_jobs.JobDeferrer(
        job_manager=_django_job_manager(), job=task.configure(schedule_at=schedule_at).job
    )
    return deferrer.defer(**arguments)


def run_in_process(task: Task, arguments: dict[str, Any]) -> None:
    """Run a job now, in this process (after its transaction committed); log a failure."""
    try:
        task(**arguments)
    except Exception:
        logger.exception("Job %s failed (run in process, not retried)", task.name)


async def retry_stalled_jobs() -> None:
    """Put back in the queue the running jobs of workers whose heartbeat stopped.

    A worker killed in the middle of a job (``kill -9``, out of memory, a lost host) leaves it
    ``doing``; once the worker missed its heartbeats for 30 s, the job is retried now, or failed
    (to resend from the admin) when it already had ``JOBS_MAX_RETRIES`` attempts.
    """
    for stalled in await app.job_manager.get_stalled_jobs():
        if stalled.attempts >= settings.JOBS_MAX_RETRIES:
            logger.error("Stalled job %s failed: no attempts left", stalled.call_string)
            await app.job_manager.finish_job(
                job=stalled, status=procrastinate_jobs.Status.FAILED, delete_job=False
            )
        else:
            logger.warning("Retrying stalled job %s (its worker died)", stalled.call_string)
            await app.job_manager.retry_job(stalled)


def retry_failed_jobs(*, job_ids: Iterable[int]) -> int:
    """Put the failed jobs among ``job_ids`` back in their queue, to run now; their count.

    Jobs in another status are left alone. An email job whose email went out sends nothing
    more (``apps.core.emails.send_templated_email``).
    """
    manager, retried = _django_job_manager(), 0
    with transaction.atomic():
        failed = ProcrastinateJob.objects.select_for_update().filter(
            pk__in=list(job_ids), status=procrastinate_jobs.Status.FAILED.value
        )
        for failed_job in failed.order_by("pk"):
            manager.retry_job_by_id(
                failed_job.id,
                timezone.now(),
                failed_job.priority,
                failed_job.queue_name,
                failed_job.lock,
            )
            retried += 1
    return retried


class ProcrastinateRouter:
    """Procrastinate's migrations (PostgreSQL SQL) run on PostgreSQL only; skipped on SQLite."""

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if app_label == "procrastinate":
            return connections[db].vendor == "postgresql"
        return None


# --- The worker, kept running through database outages -------------------------------------------
# Procrastinate's worker stops when a database query of its own fails: its LISTEN connection
# cannot reconnect while PostgreSQL is down, and a side task that fails stops the worker (checked
# against procrastinate 3.10 with a 2 s outage; see docs/jobs.md). The supervisor below runs it
# again, after 1, 2, 4... up to 60 s, until it is told to stop.


class WorkerSupervisor:
    """Run a Procrastinate worker until ``stop()``; when it stops by itself, start another.

    A worker that stopped on a database error left its running jobs finished or ``doing``;
    those are retried by ``retry_stalled_jobs`` once its heartbeat is old.
    """

    def __init__(
        self,
        *,
        options: dict[str, Any],
        id_file: str | None = None,
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
        healthy_after: float = 60.0,
    ) -> None:
        self.options = options
        self.id_file = id_file
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.healthy_after = healthy_after
        self.restarts = 0
        self._stop = asyncio.Event()
        self._worker: Worker | None = None

    def stop(self) -> None:
        """Stop for good: the running worker finishes its jobs, no other starts."""
        self._stop.set()
        if self._worker is not None:
            self._worker.stop()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = self.min_backoff
        while not self._stop.is_set():
            started = loop.time()
            error = await self._run_once()
            if self._stop.is_set():
                return
            if loop.time() - started >= self.healthy_after:
                backoff = self.min_backoff
            self.restarts += 1
            logger.error(
                "The job worker stopped (%s); starting it again in %.0f s",
                error or "no error",
                backoff,
                extra={"action": "worker_restart", "restarts": self.restarts},
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _run_once(self) -> BaseException | None:
        """One worker, from opening the connection pool to its stop; the error that stopped it."""
        try:
            async with app.open_async():
                app.perform_import_paths()
                options = {**app.worker_defaults, **self.options, "install_signal_handlers": False}
                self._worker = Worker(app=app, **options)
                if self._stop.is_set():
                    return None
                writer = asyncio.ensure_future(self._write_worker_id(self._worker))
                try:
                    await self._worker.run()
                finally:
                    writer.cancel()
        except Exception as error:
            return error
        finally:
            self._worker = None
        return None

    async def _write_worker_id(self, worker: Worker) -> None:
        """Write the worker's id (its procrastinate_workers row) for the container healthcheck."""
        if not self.id_file:
            return
        while worker.worker_id is None:
            await asyncio.sleep(0.1)
        Path(self.id_file).write_text(f"{worker.worker_id}\n")
