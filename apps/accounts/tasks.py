from apps.core.jobs import job

from . import emails


@job
def send_welcome_email(user_id: int) -> None:
    emails.send_welcome_email(user_id=user_id)


@job
def send_password_reset_email(email_key: str) -> None:
    emails.send_password_reset_email(email_key=email_key)
