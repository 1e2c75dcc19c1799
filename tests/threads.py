"""Real threads for the concurrency tests on PostgreSQL: calls released at once, each on its own
database connection."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

TIMEOUT = 60  # seconds: for a whole thread, and for any single lock wait inside PostgreSQL


def error_codes(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [e.code for errors in error.error_dict.values() for e in errors]
    return [e.code for e in error.error_list]


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread, all released at once; return each result or exception.

    Django gives every thread its own database connection; each worker bounds its lock waits
    with ``lock_timeout`` and closes its connection when done.
    """
    barrier = threading.Barrier(len(calls))

    def worker(call: Callable[[], Any]) -> Any:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = '{TIMEOUT}s'")
            barrier.wait(timeout=TIMEOUT)
            return call()
        except Exception as exc:
            return exc
        finally:
            connection.close()

    pool = ThreadPoolExecutor(max_workers=len(calls))
    futures = [pool.submit(worker, call) for call in calls]
    try:
        return [future.result(timeout=TIMEOUT) for future in futures]
    except FutureTimeout:
        pytest.fail(f"a concurrent call did not finish within {TIMEOUT} s (deadlock?)")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
