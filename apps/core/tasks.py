"""Enqueueing background jobs so that they exist only if the data that caused them commits."""

from functools import partial
from typing import Any

from django.db import transaction
from django_tasks.base import Task
from django_tasks_db import DatabaseBackend


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Enqueue ``task`` as part of the current transaction.

    With the database backend the job row is written inside the transaction, so it commits or
    rolls back with the data that caused it. Other backends (the immediate one in development
    and tests) run the job right after the transaction commits, and never if it rolls back.
    """
    if isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(partial(task.enqueue, *args, **kwargs))
