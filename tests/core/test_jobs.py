"""Background jobs on Procrastinate: in the caller's transaction, retried with backoff, recovered
when their worker dies, sent at most once, resent from the admin; and the worker's supervisor.

The workers run in this process, for the jobs in the queue (``app.run_worker(wait=False)``, as
Procrastinate's testing guide shows), on their own connections: hence transactional tests.
"""

import asyncio
import os
import smtplib
import subprocess
import sys
from datetime import timedelta

import psycopg
import pytest
from django.contrib.admin import helpers
from django.contrib.messages import get_messages
from django.core import mail
from django.core.mail.backends import locmem
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from procrastinate import PsycopgConnector
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.contrib.django.utils import connector_params
from procrastinate.exceptions import ConnectorException

from apps.accounts import tasks as account_tasks
from apps.core import jobs
from apps.core import tasks as core_tasks
from apps.core.models import SentEmail
from apps.core.tasks import enqueue_on_commit
from tests.accounts.factories import UserFactory

JOBS_CHANGELIST = "/admin/procrastinate/procrastinatejob/"
WELCOME = "apps.accounts.tasks.send_welcome_email"
TABLES = "procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers"


class FlakySMTPBackend(locmem.EmailBackend):
    """The test outbox, behind an SMTP server that drops the first ``failures`` sends."""

    failures = 0
    message_ids: list[str] = []

    def send_messages(self, messages):
        FlakySMTPBackend.message_ids += [m.message()["Message-ID"] for m in messages]
        if FlakySMTPBackend.failures:
            FlakySMTPBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


class BrokenBackend(locmem.EmailBackend):
    def send_messages(self, messages):
        raise TypeError("a bug, not the network")


@pytest.fixture
def procrastinate(settings, transactional_db, monkeypatch):
    """Jobs go to Procrastinate's tables, emptied before and after (Django's flush skips them).

    As in ``manage.py jobs_worker``, the connection a job opens in a worker thread is closed
    when the job ends.
    """
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    settings.JOBS_BACKEND = "procrastinate"
    settings.JOBS_RETRY_BASE_WAIT = 0
    _truncate()
    yield
    _truncate()


def _truncate():
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLES}, procrastinate_workers RESTART IDENTITY CASCADE")


@pytest.fixture
def smtp(settings):
    settings.EMAIL_BACKEND = "tests.core.test_jobs.FlakySMTPBackend"
    FlakySMTPBackend.failures = 0
    FlakySMTPBackend.message_ids = []
    return FlakySMTPBackend


def run_worker() -> None:
    """A worker in this process, until no job is left that is due (Procrastinate's recipe)."""
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)


def run_recovery() -> None:
    """One run of the periodic recovery job, on a worker's connection."""

    async def recover():
        async with app.open_async():
            await core_tasks.retry_stalled_jobs(timestamp=0)

    with app.replace_connector(app.connector.get_worker_connector()):
        asyncio.run(recover())


def welcome_jobs() -> list[ProcrastinateJob]:
    return list(ProcrastinateJob.objects.filter(task_name=WELCOME).order_by("pk"))


def make_due(job: ProcrastinateJob) -> None:
    """Time passes: the retry of ``job`` is due now."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = %s", [job.pk])


def take_with_dead_worker(heartbeat_age: timedelta = timedelta(minutes=5)) -> int:
    """A worker starts the next job, then dies (``kill -9``): its heartbeat stops."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT worker_id FROM procrastinate_register_worker_v1()")
        worker_id = cursor.fetchone()[0]
        cursor.execute("SELECT id FROM procrastinate_fetch_job_v2(NULL, %s)", [worker_id])
        job_id = cursor.fetchone()[0]
        cursor.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - %s WHERE id = %s",
            [heartbeat_age, worker_id],
        )
    return job_id


# --- In the caller's transaction, one statement --------------------------------------------------


@pytest.mark.postgres
def test_enqueue_is_one_statement_on_djangos_connection(procrastinate, django_assert_num_queries):
    user = UserFactory()
    with django_assert_num_queries(1) as captured:
        enqueue_on_commit(account_tasks.send_welcome_email, user.pk)
    assert "procrastinate_defer_jobs_v1(" in captured.captured_queries[0]["sql"]
    [job] = welcome_jobs()
    assert (job.status, job.args["user_id"]) == ("todo", user.pk)


@pytest.mark.postgres
def test_the_job_row_is_written_in_the_transaction(procrastinate):
    user = UserFactory()
    other = psycopg.connect(**connector_params(), autocommit=True)
    count = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s"
    with other:
        with transaction.atomic():
            enqueue_on_commit(account_tasks.send_welcome_email, user.pk)
            assert ProcrastinateJob.objects.filter(task_name=WELCOME).count() == 1
            assert other.execute(count, [WELCOME]).fetchone()[0] == 0  # not committed yet
        assert other.execute(count, [WELCOME]).fetchone()[0] == 1


@pytest.mark.postgres
def test_a_rolled_back_job_never_runs(procrastinate, smtp):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(account_tasks.send_welcome_email, UserFactory().pk)
        raise RuntimeError("registration failed")
    run_worker()
    assert welcome_jobs() == []
    assert mail.outbox == []


# --- Retries with exponential backoff --------------------------------------------------------------


@pytest.mark.postgres
def test_an_smtp_disconnect_is_retried_with_backoff_and_then_sent(procrastinate, settings, smtp):
    settings.JOBS_RETRY_BASE_WAIT = 7
    smtp.failures = 2
    user = UserFactory()
    enqueue_on_commit(account_tasks.send_welcome_email, user.pk)

    run_worker()
    [job] = welcome_jobs()
    assert (job.status, job.attempts) == ("todo", 1)
    wait = job.scheduled_at - timezone.now()
    assert timedelta(seconds=5) < wait <= timedelta(seconds=7)  # 7 ** 1
    assert mail.outbox == []
    assert not SentEmail.objects.exists()

    make_due(job)
    run_worker()
    [job] = welcome_jobs()
    assert (job.status, job.attempts) == ("todo", 2)
    wait = job.scheduled_at - timezone.now()
    assert timedelta(seconds=47) < wait <= timedelta(seconds=49)  # 7 ** 2

    make_due(job)
    run_worker()
    [job] = welcome_jobs()
    assert (job.status, job.attempts) == ("succeeded", 3)
    assert [m.to for m in mail.outbox] == [[user.email]]
    # The same Message-ID on every attempt: a receiver that got a "failed" one drops the next.
    assert smtp.message_ids == [f"<welcome.{user.pk}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"] * 3
    assert SentEmail.objects.get().key == f"welcome.{user.pk}"


@pytest.mark.postgres
def test_retries_stop_after_jobs_max_retries(procrastinate, settings, smtp):
    settings.JOBS_MAX_RETRIES = 2
    smtp.failures = 10
    enqueue_on_commit(account_tasks.send_welcome_email, UserFactory().pk)
    run_worker()  # JOBS_RETRY_BASE_WAIT is 0: each retry is due at once
    [job] = welcome_jobs()
    assert (job.status, job.attempts) == ("failed", 3)
    assert len(smtp.message_ids) == 3
    assert mail.outbox == []


@pytest.mark.postgres
def test_a_programming_error_is_not_retried(procrastinate, settings):
    settings.EMAIL_BACKEND = "tests.core.test_jobs.BrokenBackend"
    enqueue_on_commit(account_tasks.send_welcome_email, UserFactory().pk)
    run_worker()
    [job] = welcome_jobs()
    assert (job.status, job.attempts) == ("failed", 1)
    assert not SentEmail.objects.exists()


def test_the_retry_policy():
    job = ProcrastinateJob(attempts=0).procrastinate_job
    for error in (
        smtplib.SMTPServerDisconnected("gone"),
        smtplib.SMTPDataError(451, "try later"),
        ConnectionRefusedError(111, "refused"),
        TimeoutError("timed out"),
    ):
        assert jobs.RETRY.get_retry_decision(exception=error, job=job) is not None, error
    assert jobs.RETRY.get_retry_decision(exception=TypeError("bug"), job=job) is None
    assert jobs.RETRY.get_retry_decision(exception=KeyError("user"), job=job) is None


def test_no_retry_when_jobs_max_retries_is_0(settings):
    settings.JOBS_MAX_RETRIES = 0
    job = ProcrastinateJob(attempts=0).procrastinate_job
    assert jobs.RETRY.get_retry_decision(exception=OSError("down"), job=job) is None


# --- Sent at most once --------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_retry_after_a_successful_send_sends_nothing_more(procrastinate, smtp, settings):
    user = UserFactory()
    enqueue_on_commit(account_tasks.send_welcome_email, user.pk)
    run_worker()
    assert len(mail.outbox) == 1
    # The worker died after the send, before recording the job's success: the job is retried.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'todo' WHERE task_name = %s", [WELCOME]
        )
    take_with_dead_worker()
    run_recovery()
    run_worker()
    [job] = welcome_jobs()
    assert job.status == "succeeded"
    assert len(mail.outbox) == 1
    assert smtp.message_ids == [f"<welcome.{user.pk}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"]


def test_the_same_job_sends_its_email_once_and_another_job_again(db, settings):
    user = UserFactory()
    account_tasks.send_password_reset_email(email_key=user.email_key, job_key="k1")
    account_tasks.send_password_reset_email(email_key=user.email_key, job_key="k1")  # a retry
    account_tasks.send_password_reset_email(email_key=user.email_key, job_key="k2")  # a new request
    domain = settings.EMAIL_MESSAGE_ID_DOMAIN
    assert [m.message()["Message-ID"] for m in mail.outbox] == [
        f"<password_reset.{user.pk}.k1@{domain}>",
        f"<password_reset.{user.pk}.k2@{domain}>",
    ]
    assert SentEmail.objects.count() == 2


def test_a_failed_send_leaves_no_sent_marker(db, settings):
    settings.EMAIL_BACKEND = "tests.core.test_jobs.FlakySMTPBackend"
    FlakySMTPBackend.failures = 1
    user = UserFactory()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        account_tasks.send_welcome_email(user_id=user.pk, job_key="k")
    assert not SentEmail.objects.exists()
    account_tasks.send_welcome_email(user_id=user.pk, job_key="k")
    assert len(mail.outbox) == 1


# --- Jobs of dead workers ------------------------------------------------------------------------


def test_the_recovery_job_runs_every_minute():
    [periodic] = [
        p
        for p in app.periodic_registry.periodic_tasks.values()
        if p.task is core_tasks.retry_stalled_jobs
    ]
    assert periodic.cron == "* * * * *"


@pytest.mark.postgres
def test_a_stalled_job_is_retried_by_the_recovery_job(procrastinate, smtp):
    dead_user, busy_user = UserFactory(), UserFactory()
    enqueue_on_commit(account_tasks.send_welcome_email, dead_user.pk)
    enqueue_on_commit(account_tasks.send_welcome_email, busy_user.pk)
    stalled_id = take_with_dead_worker()
    running_id = take_with_dead_worker(heartbeat_age=timedelta(seconds=0))  # alive, still busy

    run_recovery()
    jobs_by_id = {job.pk: job for job in welcome_jobs()}
    assert (jobs_by_id[stalled_id].status, jobs_by_id[stalled_id].attempts) == ("todo", 1)
    assert jobs_by_id[running_id].status == "doing"

    run_worker()
    assert ProcrastinateJob.objects.get(pk=stalled_id).status == "succeeded"
    assert [m.to for m in mail.outbox] == [[dead_user.email]]


@pytest.mark.postgres
def test_a_stalled_job_without_attempts_left_fails(procrastinate, settings, smtp):
    settings.JOBS_MAX_RETRIES = 0
    enqueue_on_commit(account_tasks.send_welcome_email, UserFactory().pk)
    stalled_id = take_with_dead_worker()
    run_recovery()
    assert ProcrastinateJob.objects.get(pk=stalled_id).status == "failed"
    run_worker()
    assert mail.outbox == []


# --- The admin: failed jobs and their resend -----------------------------------------------------


@pytest.fixture
def admin_client(transactional_db) -> Client:
    client = Client()
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.mark.postgres
def test_the_admin_lists_failed_jobs_and_resends_them(procrastinate, settings, smtp, admin_client):
    settings.JOBS_MAX_RETRIES = 0
    smtp.failures = 1
    failed_user, sent_user = UserFactory(), UserFactory()
    enqueue_on_commit(account_tasks.send_welcome_email, failed_user.pk)
    enqueue_on_commit(account_tasks.send_welcome_email, sent_user.pk)
    run_worker()
    failed, succeeded = welcome_jobs()
    assert (failed.status, succeeded.status) == ("failed", "succeeded")
    assert [m.to for m in mail.outbox] == [[sent_user.email]]

    response = admin_client.get(JOBS_CHANGELIST, {"failed": "yes"})
    assert response.status_code == 200
    assert [job.pk for job in response.context["cl"].result_list] == [failed.pk]

    response = admin_client.post(
        JOBS_CHANGELIST,
        {
            "action": "resend",
            helpers.ACTION_CHECKBOX_NAME: [failed.pk, succeeded.pk],
            "index": "0",
        },
    )
    assert response.status_code == 302
    assert [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)] == [
        ("success", "1 failed job(s) queued again."),
        ("warning", "1 job(s) skipped: only failed jobs are resent."),
    ]
    failed, succeeded = welcome_jobs()
    assert (failed.status, succeeded.status) == ("todo", "succeeded")

    run_worker()
    failed, succeeded = welcome_jobs()
    assert (failed.status, succeeded.status) == ("succeeded", "succeeded")
    assert [m.to for m in mail.outbox] == [[sent_user.email], [failed_user.email]]


def test_the_job_admin_is_hidden_without_postgresql(admin_client):
    if connection.vendor == "postgresql":
        pytest.skip("checks SQLite")
    assert admin_client.get("/admin/").status_code == 200
    assert admin_client.get(JOBS_CHANGELIST).status_code == 403


# --- The worker survives database errors ---------------------------------------------------------


class FakeWorker:
    """A Procrastinate worker that stops on a database error, then runs until stopped."""

    started: list["FakeWorker"] = []
    supervisor: jobs.WorkerSupervisor

    def __init__(self, app, **options):
        self.options = options
        self.worker_id = len(FakeWorker.started) + 1
        FakeWorker.started.append(self)

    def stop(self):
        self.stopped = True

    async def run(self):
        await asyncio.sleep(0.05)  # registered in the database, running
        if self.worker_id == 1:
            raise ConnectorException("Database error.")
        if self.worker_id == 2:
            return  # stopped by itself: a side task (LISTEN) failed
        FakeWorker.supervisor.stop()


def test_the_supervisor_starts_the_worker_again_after_it_stops(monkeypatch, tmp_path):
    monkeypatch.setattr(jobs, "Worker", FakeWorker)
    FakeWorker.started = []
    supervisor = jobs.WorkerSupervisor(
        options={"concurrency": 2}, id_file=str(tmp_path / "worker.id"), min_backoff=0.01
    )
    FakeWorker.supervisor = supervisor
    asyncio.run(asyncio.wait_for(supervisor.run(), timeout=10))
    assert [w.worker_id for w in FakeWorker.started] == [1, 2, 3]
    assert supervisor.restarts == 2
    assert FakeWorker.started[0].options["concurrency"] == 2
    assert FakeWorker.started[0].options["install_signal_handlers"] is False
    assert getattr(FakeWorker.started[2], "stopped", False)
    assert (tmp_path / "worker.id").read_text() == "3\n"


class Outage:
    """A TCP proxy to PostgreSQL that can drop every connection and refuse new ones a while."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", port)
        return self.server.sockets[0].getsockname()[1]

    async def cut(self, seconds: float) -> None:
        port = self.server.sockets[0].getsockname()[1]
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        await asyncio.sleep(seconds)
        await self.start(port)

    async def _client(self, reader, writer) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        self.writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()


async def _until(condition, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.postgres
def test_the_worker_survives_a_database_outage(procrastinate, smtp):
    """A 2 s outage stops Procrastinate's worker (its LISTEN connection cannot reconnect): the
    supervisor starts another one, which sends the email enqueued after the outage."""
    user = UserFactory()
    params = connector_params()

    async def scenario() -> jobs.WorkerSupervisor:
        outage = Outage(params.get("host") or "127.0.0.1", int(params.get("port") or 5432))
        port = await outage.start()
        connector = PsycopgConnector(kwargs={**params, "host": "127.0.0.1", "port": port})
        supervisor = jobs.WorkerSupervisor(options={}, min_backoff=0.1)
        with app.replace_connector(connector):
            running = asyncio.ensure_future(supervisor.run())
            await _until(lambda: supervisor._worker and supervisor._worker.worker_id)
            await outage.cut(seconds=2)
            await _until(lambda: supervisor.restarts >= 1)
            await _until(lambda: supervisor._worker and supervisor._worker.worker_id)
            await account_tasks.send_welcome_email.defer_async(user_id=user.pk, job_key="after")
            await _until(lambda: len(mail.outbox) == 1)
            supervisor.stop()
            await asyncio.wait_for(running, timeout=30)
        return supervisor

    supervisor = asyncio.run(scenario())
    assert supervisor.restarts >= 1
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert [job.status for job in welcome_jobs()] == ["succeeded"]


def test_the_worker_command_runs_the_supervisor(monkeypatch):
    from apps.core.management.commands import jobs_worker

    runs = []

    class Supervisor(jobs.WorkerSupervisor):
        async def run(self):
            runs.append((self.options, self.id_file, type(app.connector).__name__))

    monkeypatch.setattr(jobs_worker, "WorkerSupervisor", Supervisor)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    call_command("jobs_worker", "--queues", "emails, other", "--concurrency", "2")
    assert runs == [({"concurrency": 2, "queues": ["emails", "other"]}, None, "PsycopgConnector")]
    assert connection.settings_dict["CONN_MAX_AGE"] == 0  # a job's connection ends with it
    assert type(app.connector).__name__ == "DjangoConnector"


@pytest.mark.postgres
def test_the_worker_healthcheck_reads_its_heartbeat(procrastinate, tmp_path):
    params = connector_params()
    url = (
        f"postgresql://{params.get('user') or ''}@{params.get('host') or '127.0.0.1'}"
        f":{params.get('port') or 5432}/{params['dbname']}"
    )
    env = {**os.environ, "DATABASE_URL": url}
    if params.get("password"):
        env["PGPASSWORD"] = params["password"]
    id_file = tmp_path / "worker.id"

    def healthcheck() -> int:
        command = [sys.executable, "docker/healthcheck.py", "worker", str(id_file)]
        return subprocess.run(command, env=env, capture_output=True, timeout=30).returncode

    assert healthcheck() == 1  # no id file: the worker has not started
    with connection.cursor() as cursor:
        cursor.execute("SELECT worker_id FROM procrastinate_register_worker_v1()")
        worker_id = cursor.fetchone()[0]
    id_file.write_text(f"{worker_id}\n")
    assert healthcheck() == 0
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '31 seconds'"
        )
    assert healthcheck() == 1
