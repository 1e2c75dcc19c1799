from django_tasks import task

from . import emails


@task()
def send_order_confirmation(order_id: int) -> None:
    emails.send_order_confirmation(order_id=order_id)


@task()
def send_order_status_email(order_id: int, status: str) -> None:
    emails.send_order_status_email(order_id=order_id, status=status)
