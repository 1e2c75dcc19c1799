from apps.core.jobs import job

from . import emails


@job
def send_booking_reminder(booking_id: int, sequence: int) -> None:
    emails.send_booking_reminder(booking_id=booking_id, sequence=sequence)


@job
def send_booking_rescheduled(booking_id: int) -> None:
    emails.send_booking_rescheduled(booking_id=booking_id)


@job
def send_booking_cancelled(booking_id: int) -> None:
    emails.send_booking_cancelled(booking_id=booking_id)
