"""``python manage.py jobs_worker``: Procrastinate's worker, started again after a database outage.

The same worker as ``python manage.py procrastinate worker`` (all queues, Procrastinate's
defaults, the connection pool built from DATABASES), under ``apps.core.jobs.WorkerSupervisor``.
SIGTERM or Ctrl-C stops it once its running jobs finish; a second one stops it at once.
"""

import asyncio
import signal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connections
from procrastinate.contrib.django import app

from apps.core.jobs import WorkerSupervisor


class Command(BaseCommand):
    help = "Run the background job worker (Procrastinate), restarted after database errors."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queues", default="", help="Comma-separated queues to run (default: all)."
        )
        parser.add_argument(
            "--concurrency", type=int, default=1, help="Jobs run at once (default: 1)."
        )
        parser.add_argument(
            "--id-file",
            default=None,
            help="Write the worker's id there, for the healthcheck (docker/healthcheck.py).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # A job runs in a thread of the worker's pool, on a Django connection of that thread:
        # closed when the job ends (Procrastinate's middleware) rather than one kept per thread.
        for alias in connections:
            connections.settings[alias]["CONN_MAX_AGE"] = 0
        worker_options: dict[str, Any] = {"concurrency": options["concurrency"]}
        if queues := [q.strip() for q in options["queues"].split(",") if q.strip()]:
            worker_options["queues"] = queues
        supervisor = WorkerSupervisor(options=worker_options, id_file=options["id_file"])
        with app.replace_connector(app.connector.get_worker_connector()):
            asyncio.run(self._run(supervisor))

    async def _run(self, supervisor: WorkerSupervisor) -> None:
        loop = asyncio.get_running_loop()

        def stop() -> None:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)  # the second signal stops at once
            supervisor.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        await supervisor.run()
