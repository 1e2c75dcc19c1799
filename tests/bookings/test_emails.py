"""The emails of bookings and their calendar invitations (read back with ``icalendar``): one
UID per booking for good, a higher SEQUENCE when it moves, METHOD:CANCEL when it is cancelled;
and the reminder, scheduled before the start, sent only for a booking still as it was."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from apps.bookings import emails, services, tasks
from apps.bookings.models import Booking
from apps.core import jobs
from apps.notifications.models import Notification
from tests.bookings.factories import (
    ResourceFactory,
    ServiceVariantFactory,
    book_confirmed,
    free_slot,
)
from tests.orders.factories import cart_with, place_order, variant

UID = "booking-{pk}@{domain}"


def invitation(message) -> tuple[str, str, Calendar]:
    """The one calendar attached to ``message``: its filename, its MIME type, the calendar."""
    (attachment,) = message.attachments
    filename, content, mimetype = attachment
    return filename, mimetype, Calendar.from_ical(content)


def events(calendar: Calendar) -> list[dict]:
    return [
        {
            "uid": str(event["UID"]),
            "sequence": int(event["SEQUENCE"]),
            "start": event.decoded("DTSTART"),
            "end": event.decoded("DTEND"),
            "summary": str(event["SUMMARY"]),
            "location": str(event["LOCATION"]),
            "status": str(event["STATUS"]),
        }
        for event in calendar.walk("VEVENT")
    ]


def uid(booking: Booking, settings) -> str:
    return UID.format(pk=booking.pk, domain=settings.EMAIL_MESSAGE_ID_DOMAIN)


def paris_salon():
    """A 45-minute cut by Alex in Paris, open 09:00-18:00 every day."""
    alex = ResourceFactory(
        name="Alex",
        time_zone="Europe/Paris",
        hours=[(weekday, "09:00", "18:00") for weekday in range(1, 8)],
    )
    return ServiceVariantFactory(
        product__name="Haircut", name="45 minutes", product__settings__resources=[alex]
    )


def confirmed(cut, *, key="key-1", start=None, user=None, capture) -> Booking:
    with capture(execute=True):
        booking = book_confirmed(cut, user=user, start=start, key=key)
    return booking


def test_the_order_confirmation_invites_to_every_booking_it_took(
    db, settings, django_capture_on_commit_callbacks
):
    cut, mug = paris_salon(), variant(stock=5)
    cart = cart_with((mug, 1), (cut, 1), (cut, 1))

    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(cart=cart)

    (message,) = mail.outbox
    filename, mimetype, calendar = invitation(message)
    bookings = list(order.bookings.order_by("start", "pk"))
    assert (filename, mimetype, str(calendar["METHOD"]), str(calendar["VERSION"])) == (
        "invitation.ics",
        "text/calendar; charset=utf-8; method=REQUEST",
        "REQUEST",
        "2.0",
    )
    assert events(calendar) == [
        {
            "uid": uid(booking, settings),
            "sequence": 0,
            "start": booking.start,
            "end": booking.end,
            "summary": "Haircut (45 minutes)",
            "location": "Alex",
            "status": "CONFIRMED",
        }
        for booking in bookings
    ]
    assert [event["DTSTART"].to_ical() for event in calendar.walk("VEVENT")] == [
        booking.start.strftime("%Y%m%dT%H%M%SZ").encode() for booking in bookings
    ]  # in UTC
    assert "The invitation attached adds your bookings to your calendar." in message.body


def test_an_order_of_goods_only_has_no_invitation(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        place_order(lines=[(variant(), 1)])

    (message,) = mail.outbox
    assert message.attachments == []
    assert "invitation" not in message.body


def test_a_move_updates_the_same_event_with_a_higher_sequence(
    db, customer, settings, django_capture_on_commit_callbacks
):
    cut = paris_salon()
    booking = confirmed(cut, user=customer, capture=django_capture_on_commit_callbacks)
    _, _, first = invitation(mail.outbox[0])
    later = free_slot(cut, after=booking.start + timedelta(days=1))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_reschedule(booking=booking, start=later, actor=customer)

    (message,) = mail.outbox
    filename, mimetype, calendar = invitation(message)
    assert (message.to, filename, mimetype, str(calendar["METHOD"])) == (
        [customer.email],
        "invitation.ics",
        "text/calendar; charset=utf-8; method=REQUEST",
        "REQUEST",
    )
    assert [(e["uid"], e["sequence"], e["start"]) for e in events(calendar)] == [
        (uid(booking, settings), 1, later)
    ]
    assert events(first)[0]["uid"] == uid(booking, settings)
    local = later.astimezone(booking.resource_zone)
    assert (
        message.subject == f"Your booking was moved: Haircut on {local:%A} {local.day} {local:%B}"
    )
    assert f"{local:%H:%M} to " in message.body  # told in the resource's time zone
    assert "(Europe/Paris)" in message.body


def test_a_cancellation_cancels_the_same_event(
    db, customer, settings, django_capture_on_commit_callbacks
):
    booking = confirmed(paris_salon(), user=customer, capture=django_capture_on_commit_callbacks)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=booking, actor=customer)

    (message,) = mail.outbox
    filename, mimetype, calendar = invitation(message)
    assert (filename, mimetype, str(calendar["METHOD"])) == (
        "cancellation.ics",
        "text/calendar; charset=utf-8; method=CANCEL",
        "CANCEL",
    )
    assert [(e["uid"], e["status"], e["start"]) for e in events(calendar)] == [
        (uid(booking, settings), "CANCELLED", booking.start)
    ]
    assert message.subject.startswith("Your booking was cancelled: Haircut on ")


def test_an_order_cancelled_emails_the_cancellation_of_each_booking(
    db, django_capture_on_commit_callbacks
):
    from apps.orders import services as order_services

    booking = confirmed(paris_salon(), capture=django_capture_on_commit_callbacks)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        order_services.order_transition(order=booking.order, status="CANCELLED")

    cancellations = [m for m in mail.outbox if m.attachments]
    assert [(m.to, invitation(m)[0]) for m in cancellations] == [
        (["guest@example.com"], "cancellation.ics")
    ]


# --- the reminder -------------------------------------------------------------------------------


def test_the_reminder_is_scheduled_before_the_start_with_the_booking_s_sequence(
    db, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.BOOKING_REMINDER_HOURS = 24
    deferred = []
    monkeypatch.setattr(jobs, "uses_procrastinate", lambda: True)
    monkeypatch.setattr(
        jobs,
        "defer_in_transaction",
        lambda task, arguments, *, schedule_at=None: deferred.append(
            (task.name, {k: v for k, v in arguments.items() if k != "job_key"}, schedule_at)
        ),
    )
    cut = paris_salon()

    booking = book_confirmed(cut)
    later = free_slot(cut, after=booking.start + timedelta(days=1))
    services.booking_reschedule(booking=booking, start=later, as_staff=True)

    reminders = [
        entry for entry in deferred if entry[0] == "apps.bookings.tasks.send_booking_reminder"
    ]
    assert reminders == [
        (
            "apps.bookings.tasks.send_booking_reminder",
            {"booking_id": booking.pk, "sequence": 0},
            booking.start - timedelta(hours=24),
        ),
        (
            "apps.bookings.tasks.send_booking_reminder",
            {"booking_id": booking.pk, "sequence": 1},
            later - timedelta(hours=24),
        ),
    ]


def test_no_reminder_is_scheduled_once_its_time_has_passed(db, settings, monkeypatch):
    settings.BOOKING_REMINDER_HOURS = 24 * 7
    deferred = []
    monkeypatch.setattr(jobs, "uses_procrastinate", lambda: True)
    monkeypatch.setattr(
        jobs,
        "defer_in_transaction",
        lambda task, arguments, *, schedule_at=None: deferred.append(task.name),
    )

    book_confirmed(paris_salon())  # two days ahead: the reminder would be due 5 days ago

    assert "apps.bookings.tasks.send_booking_reminder" not in deferred


def test_in_process_a_reminder_does_not_run_before_it_is_due(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = book_confirmed(paris_salon())

    # the confirmation went; the reminder, due a day before the start, did not run
    assert booking.start - timezone.now() > timedelta(hours=24)
    assert [message.attachments[0][0] for message in mail.outbox] == ["invitation.ics"]
    assert not Notification.objects.filter(kind="BOOKING_REMINDER").exists()


@pytest.mark.postgres
def test_on_procrastinate_the_reminder_job_waits_for_its_time(
    db, settings, django_capture_on_commit_callbacks
):
    from procrastinate.contrib.django.models import ProcrastinateJob

    settings.JOBS_BACKEND = "procrastinate"
    booking = book_confirmed(paris_salon())

    job = ProcrastinateJob.objects.get(task_name="apps.bookings.tasks.send_booking_reminder")
    assert (job.status, job.args["booking_id"], job.args["sequence"], job.scheduled_at) == (
        "todo",
        booking.pk,
        0,
        booking.start - timedelta(hours=settings.BOOKING_REMINDER_HOURS),
    )


def test_the_reminder_goes_to_a_booking_still_confirmed_and_unchanged(db, customer, settings):
    booking = book_confirmed(paris_salon(), user=customer)
    mail.outbox.clear()

    tasks.send_booking_reminder(booking_id=booking.pk, sequence=0, job_key="one")
    tasks.send_booking_reminder(booking_id=booking.pk, sequence=0, job_key="two")  # a retry

    (message,) = mail.outbox
    local = booking.start.astimezone(booking.resource_zone)
    assert (message.to, message.subject) == (
        [customer.email],
        f"Reminder: Haircut on {local:%A} {local.day} {local:%B}",
    )
    assert f"{local.day} {local:%B %Y}, {local:%H:%M} to " in message.body
    _, _, calendar = invitation(message)
    assert [(e["uid"], e["sequence"]) for e in events(calendar)] == [(uid(booking, settings), 0)]
    assert list(
        Notification.objects.filter(kind="BOOKING_REMINDER").values_list("user", "title")
    ) == [(customer.pk, "See you soon")]


def test_the_reminder_of_a_moved_or_cancelled_booking_sends_nothing(db, customer):
    cut = paris_salon()
    moved = book_confirmed(cut, user=customer, key="one")
    cancelled = book_confirmed(cut, user=customer, key="two")
    services.booking_reschedule(
        booking=moved, start=free_slot(cut, after=moved.start + timedelta(days=1)), actor=customer
    )
    services.booking_cancel(booking=cancelled, actor=customer)
    mail.outbox.clear()
    notifications = Notification.objects.count()

    emails.send_booking_reminder(booking_id=moved.pk, sequence=0)  # scheduled before the move
    emails.send_booking_reminder(booking_id=cancelled.pk, sequence=0)
    emails.send_booking_reminder(booking_id=0, sequence=0)  # gone

    assert (mail.outbox, Notification.objects.count()) == ([], notifications)


def test_the_times_of_an_email_are_the_resource_s_wall_clock_times(db, customer):
    paris = ZoneInfo("Europe/Paris")
    local_day = (timezone.now() + timedelta(days=2)).astimezone(paris).date()
    # 09:00 in Paris: 08:00 UTC in winter, 07:00 UTC in summer
    start = datetime.combine(local_day, time(9), paris).astimezone(UTC)
    booking = book_confirmed(paris_salon(), user=customer, start=start)
    mail.outbox.clear()

    emails.send_booking_reminder(booking_id=booking.pk, sequence=0)

    (message,) = mail.outbox
    assert ", 09:00 to 09:45 (Europe/Paris)" in message.body
    assert "09:00" in message.alternatives[0][0]
