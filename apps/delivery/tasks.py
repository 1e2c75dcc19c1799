from apps.core.jobs import job

from . import emails


@job
def send_delivery_code(delivery_id: int, attempt: int, code: str) -> None:
    emails.send_delivery_code(delivery_id=delivery_id, attempt=attempt, code=code)


@job
def send_agent_invitation(user_id: int) -> None:
    emails.send_agent_invitation(user_id=user_id)
