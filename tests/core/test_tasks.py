"""``enqueue_on_commit``: a job exists, or runs, only if the transaction that caused it commits."""

import logging

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from procrastinate.contrib.django.models import ProcrastinateJob

from apps.accounts import tasks
from apps.core.emails import send_templated_email
from apps.core.tasks import enqueue_on_commit
from tests.accounts.factories import UserFactory

# --- In process (make run, the tests, any database) -----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_in_process_job_sends_after_commit_only():
    user = UserFactory()
    with transaction.atomic():
        enqueue_on_commit(tasks.send_welcome_email, user.pk)
        assert mail.outbox == []
    assert [m.to for m in mail.outbox] == [[user.email]]


@pytest.mark.django_db(transaction=True)
def test_in_process_job_never_runs_when_the_transaction_rolls_back():
    user = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(tasks.send_welcome_email, user.pk)
        raise RuntimeError("order creation failed")
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_in_process_job_failure_is_logged_and_the_caller_goes_on(settings, caplog):
    settings.EMAIL_BACKEND = "tests.core.test_tasks.DisconnectedBackend"
    user = UserFactory()
    with caplog.at_level(logging.ERROR, logger="apps.core.jobs"), transaction.atomic():
        enqueue_on_commit(tasks.send_welcome_email, user.pk)
    assert "Job apps.accounts.tasks.send_welcome_email failed" in caplog.text
    assert mail.outbox == []


def test_in_process_arguments_must_be_json(db):
    with pytest.raises(TypeError):
        enqueue_on_commit(tasks.send_welcome_email, object())


def test_procrastinate_needs_postgresql(db, settings):
    if connection.vendor == "postgresql":
        pytest.skip("checks the SQLite refusal")
    settings.JOBS_BACKEND = "procrastinate"
    with pytest.raises(ImproperlyConfigured, match="needs PostgreSQL"):
        enqueue_on_commit(tasks.send_welcome_email, 1)
    assert mail.outbox == []


class DisconnectedBackend:
    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        import smtplib

        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


# --- Procrastinate (production): the job row is part of the transaction ---------------------------


@pytest.fixture
def procrastinate(settings, transactional_db):
    settings.JOBS_BACKEND = "procrastinate"
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs, procrastinate_events RESTART IDENTITY CASCADE")
    yield
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs, procrastinate_events RESTART IDENTITY CASCADE")


@pytest.mark.postgres
def test_procrastinate_job_commits_with_the_data(procrastinate):
    user = UserFactory()
    with transaction.atomic():
        enqueue_on_commit(tasks.send_welcome_email, user.pk)
    job = ProcrastinateJob.objects.get()
    assert job.task_name == "apps.accounts.tasks.send_welcome_email"
    assert job.status == "todo"
    assert job.args["user_id"] == user.pk
    assert len(job.args["job_key"]) == 32
    assert mail.outbox == []  # the worker sends it


@pytest.mark.postgres
def test_procrastinate_job_rolls_back_with_the_data(procrastinate):
    with pytest.raises(RuntimeError), transaction.atomic():
        user = UserFactory()
        enqueue_on_commit(tasks.send_welcome_email, user.pk)
        raise RuntimeError("failed")
    assert ProcrastinateJob.objects.count() == 0
    assert mail.outbox == []


# --- The email itself ------------------------------------------------------------------------------


def test_templated_email_has_text_and_html(db, settings):
    settings.EMAIL_MESSAGE_ID_DOMAIN = "silkcart.test"
    user = UserFactory(first_name="Robin")
    send_templated_email(
        template="accounts/emails/welcome",
        to=[user.email],
        context={"user": user},
        key="welcome.test",
    )
    message = mail.outbox[0]
    assert message.subject == "Welcome to SilkCart"
    assert "Hello Robin" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "<p>Hello Robin,</p>" in html
    assert message.message()["Message-ID"] == "<welcome.test@silkcart.test>"
