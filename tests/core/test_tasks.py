import pytest
from django.core import mail
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from apps.accounts import tasks
from apps.core.emails import send_templated_email
from apps.core.tasks import enqueue_on_commit
from tests.accounts.factories import UserFactory

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.django_db(transaction=True)
def test_immediate_backend_sends_after_commit_only():
    user = UserFactory()
    with transaction.atomic():
        enqueue_on_commit(tasks.send_welcome_email, user.pk)
        assert mail.outbox == []
    assert [m.to for m in mail.outbox] == [[user.email]]


@pytest.mark.django_db(transaction=True)
def test_immediate_backend_never_sends_when_the_transaction_rolls_back():
    user = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(tasks.send_welcome_email, user.pk)
        raise RuntimeError("order creation failed")
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_database_backend_job_commits_with_the_data(settings):
    settings.TASKS = DB_TASKS
    user = UserFactory()
    with transaction.atomic():
        enqueue_on_commit(tasks.send_welcome_email, user.pk)
    job = DBTaskResult.objects.get()
    assert job.task_path == "apps.accounts.tasks.send_welcome_email"
    assert job.args_kwargs["args"] == [user.pk]
    assert mail.outbox == []  # the worker sends it


@pytest.mark.django_db(transaction=True)
def test_database_backend_job_rolls_back_with_the_data(settings):
    settings.TASKS = DB_TASKS
    user = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(tasks.send_welcome_email, user.pk)
        raise RuntimeError("failed")
    assert DBTaskResult.objects.count() == 0


def test_templated_email_has_text_and_html(db):
    user = UserFactory(first_name="Robin")
    send_templated_email(
        template="accounts/emails/welcome", to=[user.email], context={"user": user}
    )
    message = mail.outbox[0]
    assert message.subject == "Welcome to SilkCart"
    assert "Hello Robin" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "<p>Hello Robin,</p>" in html
