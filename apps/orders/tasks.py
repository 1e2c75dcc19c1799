from apps.core.jobs import job

from . import emails


@job
def send_order_confirmation(order_id: int) -> None:
    emails.send_order_confirmation(order_id=order_id)


@job
def send_order_status_email(order_id: int, status: str) -> None:
    emails.send_order_status_email(order_id=order_id, status=status)
