"""Enqueueing background jobs so that they exist only if the data that caused them commits,
and the periodic job that recovers the jobs of dead workers (see apps/core/jobs.py)."""

import logging
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.tasks import Task

from . import jobs

logger = logging.getLogger(__name__)


def enqueue_on_commit(
    task: Task, *args: Any, schedule_at: datetime | None = None, **kwargs: Any
) -> None:
    """Enqueue ``task`` (declared with ``apps.core.jobs.job``) as part of the current transaction.

    With Procrastinate (``JOBS_BACKEND=procrastinate``, PostgreSQL) the job row is written now,
    by one statement inside the transaction, so it commits or rolls back with the data that
    caused it; ``schedule_at`` makes it wait for that time (a reminder). In process
    (``JOBS_BACKEND=in_process``) the job runs right after the transaction commits, and never
    if it rolls back; a job scheduled for later does not run at all there (there is no
    scheduler in process: development does without reminders).
    """
    arguments = jobs.job_arguments(task, *args, **kwargs)
    if jobs.uses_procrastinate():
        jobs.defer_in_transaction(task, arguments, schedule_at=schedule_at)
    elif schedule_at is not None and schedule_at > timezone.now():
        logger.info("Job %s is due at %s: not run in process", task.name, schedule_at)
    else:
        transaction.on_commit(partial(jobs.run_in_process, task, arguments))


@app.periodic(cron="* * * * *")
@app.task(queueing_lock="retry_stalled_jobs")
async def retry_stalled_jobs(timestamp: int) -> None:
    """Every minute, on a worker: retry the jobs of workers that died while running them."""
    await jobs.retry_stalled_jobs()
