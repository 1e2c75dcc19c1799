from django_tasks import task

from . import emails


@task()
def send_welcome_email(user_id: int) -> None:
    emails.send_welcome_email(user_id=user_id)


@task()
def send_password_reset_email(user_id: int) -> None:
    emails.send_password_reset_email(user_id=user_id)
