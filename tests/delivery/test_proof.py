import re
from decimal import Decimal

import pytest
from django.core import mail

from apps.delivery import services
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.notifications.models import Notification
from apps.orders.models import OrderStatus
from apps.payments.models import PaymentStatus
from tests.delivery.documents import ASSIGN, COMPLETE, START, bearer, codes_of, result
from tests.delivery.factories import agent, cash_order, delivery_at, delivery_of, fresh, gid, world
from tests.orders.factories import variant

S = DeliveryStatus
CODE = re.compile(r"\b(\d{6})\b")


def set_out(api, delivery: Delivery, capture) -> str:
    """deliveryStart through the API; the code the buyer was emailed."""
    with capture(execute=True):
        response = api(START, {"id": gid(delivery)})
    assert result(response)["status"] == "OUT_FOR_DELIVERY"
    return CODE.search(mail.outbox[-1].subject).group(1)


def complete(api, delivery: Delivery, code: str, cash=None, **variables):
    return api(COMPLETE, {"id": gid(delivery), "code": code, "cash": cash, **variables})


@pytest.fixture
def picked_up(db, customer):
    """A customer's cash order (22.50 with shipping), picked up by its courier."""
    delivery = delivery_at(
        S.PICKED_UP, order=cash_order(user=customer, lines=[(variant(price="17.50"), 1)])
    )
    return delivery, bearer(delivery.agent.user)


@pytest.fixture
def out(picked_up, django_capture_on_commit_callbacks):
    delivery, api = picked_up
    code = set_out(api, delivery, django_capture_on_commit_callbacks)
    return fresh(delivery), api, code


# --- the code ---------------------------------------------------------------------------------


def test_setting_out_emails_the_buyer_their_code(picked_up, django_capture_on_commit_callbacks):
    delivery, api = picked_up
    order = delivery.order

    code = set_out(api, delivery, django_capture_on_commit_callbacks)

    assert re.fullmatch(r"\d{6}", code)
    [email] = [m for m in mail.outbox if "on its way" in m.subject]
    assert email.to == [order.email] == ["casey@example.com"]
    assert email.subject == f"Order {order.number} is on its way: your code is {code}"
    assert f"Your delivery code: {code}" in email.body
    assert "Dana is on the way with your order" in email.body
    assert "Please have 22.50 USD ready" in email.body
    html = email.alternatives[0][0]
    assert code in html and "22.50 USD" in html


def test_setting_out_notifies_a_customer_in_the_app(picked_up, customer):
    delivery, api = picked_up

    api(START, {"id": gid(delivery)})

    notification = Notification.objects.get(
        user=customer, kind=Notification.Kind.DELIVERY_ON_THE_WAY
    )
    code = CODE.search(notification.body).group(1)
    assert notification.title == "Your order is on its way"
    assert notification.body == (
        f"Dana is bringing order {delivery.order.number}. Give them the code {code} when they "
        "arrive."
    )
    assert notification.path == f"/orders/{delivery.order.number}"
    assert notification.target == delivery


def test_a_guest_buyer_gets_the_code_by_email_only(db, django_capture_on_commit_callbacks):
    delivery = delivery_at(S.PICKED_UP, order=cash_order(email="guest.buyer@example.com"))

    code = set_out(bearer(delivery.agent.user), delivery, django_capture_on_commit_callbacks)

    assert mail.outbox[-1].to == ["guest.buyer@example.com"]
    assert code in mail.outbox[-1].body
    assert not Notification.objects.filter(kind=Notification.Kind.DELIVERY_ON_THE_WAY).exists()


def test_the_code_is_kept_nowhere_on_the_delivery(out):
    delivery, _api, code = out

    delivery = fresh(delivery)
    assert delivery.code_hash not in ("", code)
    assert len(delivery.code_hash) == 64  # an HMAC-SHA256, hex
    rows = [
        *Delivery.objects.filter(pk=delivery.pk).values(),
        *DeliveryEvent.objects.filter(delivery=delivery).values(),
    ]
    assert rows
    assert [row for row in rows if any(code in str(value) for value in row.values())] == []


def test_a_retried_email_job_of_a_past_attempt_sends_nothing(out):
    from apps.delivery import emails

    delivery, _api, code = out
    sent = len(mail.outbox)

    emails.send_delivery_code(delivery_id=delivery.pk, attempt=delivery.attempts - 1, code="1")
    services.delivery_fail(delivery=delivery, agent=delivery.agent, reason="NOBODY_HOME")
    emails.send_delivery_code(delivery_id=delivery.pk, attempt=delivery.attempts, code=code)

    assert len(mail.outbox) == sent


# --- handing over -----------------------------------------------------------------------------


def test_the_right_code_and_the_exact_cash_deliver_and_pay_the_order(out):
    delivery, api, code = out

    response = complete(api, delivery, code, "22.50", recipient="Casey")

    assert result(response) == {
        "__typename": "Delivery",
        "id": gid(delivery),
        "status": "DELIVERED",
        "attempts": 1,
        "isLocked": False,
        "agent": {"id": gid(delivery.agent)},
        "cashCollected": {"amount": "22.50"},
        "lastLocation": None,
    }
    delivery = fresh(delivery)
    order = delivery.order
    assert (delivery.status, delivery.cash_collected, delivery.recipient_name) == (
        S.DELIVERED,
        Decimal("22.50"),
        "Casey",
    )
    assert (order.status, order.payment.status) == (OrderStatus.DELIVERED, PaymentStatus.CAPTURED)
    assert order.paid_at is not None


def test_the_code_may_come_with_spaces_around_it(out):
    delivery, api, code = out

    response = complete(api, delivery, f"  {code} ", "22.50")

    assert result(response)["status"] == "DELIVERED"


def test_a_wrong_code_is_refused_and_counted(out):
    delivery, api, code = out
    wrong = "000000" if code != "000000" else "111111"

    response = complete(api, delivery, wrong, "22.50")

    assert codes_of(response) == [("delivery_code_invalid", "code")]
    assert result(response)["messages"][0]["message"] == (
        "That is not the code the buyer was sent (4 tries left)."
    )
    delivery = fresh(delivery)
    assert (delivery.status, delivery.code_failures, delivery.order.status) == (
        S.OUT_FOR_DELIVERY,
        1,
        OrderStatus.SHIPPED,
    )


def test_the_fifth_wrong_code_locks_the_delivery_until_staff_reassign_it(out, admin_gql):
    delivery, api, code = out
    wrong = "000000" if code != "000000" else "111111"

    answers = [codes_of(complete(api, delivery, wrong, "22.50")) for _ in range(5)]

    assert answers == [[("delivery_code_invalid", "code")]] * 4 + [[("delivery_locked", "code")]]
    assert fresh(delivery).code_failures == 5
    # Locked: even the right code is refused, and not counted.
    assert codes_of(complete(api, delivery, code, "22.50")) == [("delivery_locked", "code")]
    assert fresh(delivery).code_failures == 5
    assert fresh(delivery).status == S.OUT_FOR_DELIVERY
    # Staff reassign it (to the same courier): unlocked, the same code opens it.
    unlocked = admin_gql(ASSIGN, {"id": gid(delivery), "agentId": gid(delivery.agent)})
    assert result(unlocked)["isLocked"] is False
    assert result(complete(api, delivery, code, "22.50"))["status"] == "DELIVERED"


def test_the_fifth_wrong_code_of_a_max_of_three_is_not_counted(out, settings):
    settings.DELIVERY_CODE_MAX_FAILURES = 3
    delivery, api, code = out
    wrong = "000000" if code != "000000" else "111111"

    answers = [codes_of(complete(api, delivery, wrong, "22.50")) for _ in range(5)]

    assert (
        answers == [[("delivery_code_invalid", "code")]] * 2 + [[("delivery_locked", "code")]] * 3
    )
    assert fresh(delivery).code_failures == 3


@pytest.mark.parametrize(
    ("cash", "order"),
    [
        ("22.49", "cash"),
        ("22.51", "cash"),
        ("0", "cash"),
        (None, "cash"),
        ("0.01", "paid"),
        ("22.50", "paid"),
    ],
)
def test_cash_that_is_not_the_cash_to_collect_changes_nothing(
    db, django_capture_on_commit_callbacks, cash, order
):
    delivery = delivery_at(
        S.PICKED_UP,
        order=cash_order(lines=[(variant(price="17.50"), 1)]) if order == "cash" else None,
    )
    api = bearer(delivery.agent.user)
    code = set_out(api, delivery, django_capture_on_commit_callbacks)
    wrong = "000000" if code != "000000" else "111111"
    complete(api, delivery, wrong)  # one wrong code counted already
    snapshot = world()

    response = complete(api, delivery, code, cash)

    assert codes_of(response) == [("cash_mismatch", "cashCollected")]
    assert world() == snapshot
    assert fresh(delivery).code_failures == 1


@pytest.mark.parametrize("cash", [None, "0", "0.00"])
def test_a_paid_order_is_completed_without_cash(db, django_capture_on_commit_callbacks, cash):
    delivery = delivery_at(S.PICKED_UP)
    api = bearer(delivery.agent.user)
    code = set_out(api, delivery, django_capture_on_commit_callbacks)

    response = complete(api, delivery, code, cash)

    assert result(response)["status"] == "DELIVERED"
    assert result(response)["cashCollected"] is None
    assert fresh(delivery).cash_collected is None


def test_another_courier_reassigned_the_delivery_completes_it_with_the_same_code(out, admin_gql):
    delivery, api, code = out
    other = agent(first_name="Robin", last_name="Vale")
    admin_gql(ASSIGN, {"id": gid(delivery), "agentId": gid(other)})

    assert codes_of(complete(api, delivery, code, "22.50")) == [("not_found", "id")]
    response = complete(bearer(other.user), delivery, code, "22.50")

    assert result(response)["status"] == "DELIVERED"
    assert fresh(delivery_of(delivery.order)).agent == other
