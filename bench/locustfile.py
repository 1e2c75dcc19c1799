"""Locust user of bench/run.py, used when wrk is not installed (same environment as wrk.lua).

BENCH_METHOD, BENCH_PATH, BENCH_BODIES (one request body per line), BENCH_ONCE=1 (each body
once), BENCH_GRAPHQL=1 (a 2xx answer with "errors" or an OperationInfo is a failure),
BENCH_AUTHORIZATION (the Authorization header of every request, if set).
"""

import itertools
import os
from pathlib import Path

from locust import FastHttpUser, constant, task
from locust.exception import StopUser

METHOD = os.environ.get("BENCH_METHOD", "GET")
PATH = os.environ.get("BENCH_PATH", "/")
GRAPHQL = os.environ.get("BENCH_GRAPHQL") == "1"
ONCE = os.environ.get("BENCH_ONCE") == "1"
AUTHORIZATION = os.environ.get("BENCH_AUTHORIZATION", "")
_file = os.environ.get("BENCH_BODIES")
BODIES = [line for line in Path(_file).read_text().splitlines() if line] if _file else []
# One process, gevent: a plain iterator is shared safely by every user.
_bodies = iter(BODIES) if ONCE else itertools.cycle(BODIES or [None])


class BenchUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def send(self) -> None:
        body = next(_bodies, None) if ONCE else next(_bodies)
        if ONCE and body is None:
            raise StopUser()
        headers = {"Content-Type": "application/json", "Host": "127.0.0.1"}
        if AUTHORIZATION:
            headers["Authorization"] = AUTHORIZATION
        with self.client.request(
            METHOD, PATH, data=body, headers=headers, name=PATH, catch_response=True
        ) as response:
            text = response.text or ""
            if not 200 <= response.status_code < 300:
                response.failure(f"HTTP {response.status_code}")
            elif GRAPHQL and ('"errors"' in text or '"OperationInfo"' in text):
                response.failure("GraphQL error")
            else:
                response.success()
