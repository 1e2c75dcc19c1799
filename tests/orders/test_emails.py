from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError

from apps.orders import emails
from apps.orders import services as order_services
from apps.orders.models import Order, OrderStatus
from tests.orders.factories import BILLING_ADDRESS, advance, cart_with, place_order, variant

PLACED_AT = datetime(2025, 3, 14, 9, 26, tzinfo=UTC)
TIMES = "\N{MULTIPLICATION SIGN}"


def html_of(message: mail.EmailMultiAlternatives) -> str:
    ((content, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return content


def link(order: Order) -> str:
    return settings.ORDER_URL_TEMPLATE.replace("{token}", str(order.token))


@pytest.fixture
def order(db):
    """A guest order of two lines, shipped to France and billed to the US, placed at 09:26 UTC."""
    mug = variant(price="12.50", name="Blue", product__name="Mug <Deluxe>", sku="MUG-BLUE")
    tee = variant(price="20.00", name="", product__name="Tee", sku="TEE")
    placed = place_order(
        lines=[(mug, 2), (tee, 1)], email="guest@example.com", billing=BILLING_ADDRESS
    )
    Order.objects.filter(pk=placed.pk).update(created_at=PLACED_AT)
    return Order.objects.get(pk=placed.pk)


# --- the confirmation -------------------------------------------------------------------------


def test_the_confirmation_email_is_sent_only_after_commit(db, django_capture_on_commit_callbacks):
    cart = cart_with((variant(), 1))

    with django_capture_on_commit_callbacks() as callbacks:
        placed = place_order(cart=cart, email="guest@example.com")
        assert mail.outbox == []

    assert mail.outbox == []
    for callback in callbacks:
        callback()
    assert [(m.subject, m.to) for m in mail.outbox] == [
        (f"Your SilkCart order {placed.number}", ["guest@example.com"])
    ]


def test_a_checkout_that_fails_sends_no_email(db, django_capture_on_commit_callbacks):
    cart = cart_with((variant(stock=1), 2))

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValidationError),
    ):
        place_order(cart=cart)

    assert callbacks == []
    assert mail.outbox == []


def test_the_confirmation_text_lists_lines_totals_addresses_and_the_link(order):
    emails.send_order_confirmation(order_id=order.pk)

    (message,) = mail.outbox
    assert message.subject == f"Your SilkCart order {order.number}"
    assert message.to == ["guest@example.com"]
    assert message.body == (
        "Thank you for your order!\n"
        "\n"
        f"Order {order.number} — placed 2025-03-14 09:26 UTC\n"
        "\n"
        f"2 {TIMES} Mug <Deluxe> (Blue) [MUG-BLUE]  25.00 USD\n"
        f"1 {TIMES} Tee [TEE]  20.00 USD\n"
        "\n"
        "Subtotal: 45.00 USD\n"
        "Shipping: 5.00 USD\n"
        "Total:    50.00 USD\n"
        "\n"
        "Shipping to:\n"
        "Casey Buyer\n"
        "12 Rue de Rivoli\n"
        "Apt 4\n"
        "75001 Paris\n"
        "FR\n"
        "\n"
        "\n"
        "Billing address:\n"
        "Casey Accounts\n"
        "1 Market Street\n"
        "94105 San Francisco, CA\n"
        "US\n"
        "\n"
        "\n"
        f"Follow your order: {link(order)}\n"
        "\n"
    )


def test_the_confirmation_html_holds_the_same_escaped(order):
    emails.send_order_confirmation(order_id=order.pk)

    html = html_of(mail.outbox[0])
    assert f"<title>Order {order.number}</title>" in html
    assert f"<strong>Order {order.number}</strong> — placed 2025-03-14 09:26 UTC" in html
    assert "<td>Mug &lt;Deluxe&gt; (Blue)<br><small" in html
    assert ">MUG-BLUE</small>" in html
    assert "<td>Tee<br><small" in html
    assert '<td align="right">25.00 USD</td>' in html
    assert '<td align="right">20.00 USD</td>' in html
    assert '<td>Subtotal</td><td align="right">45.00 USD</td>' in html
    assert '<td>Shipping</td><td align="right">5.00 USD</td>' in html
    assert "<strong>50.00 USD</strong>" in html
    assert (
        "<strong>Shipping to</strong><br>Casey Buyer<br>12 Rue de Rivoli<br>Apt 4<br>"
        "75001 Paris<br>FR"
    ) in html
    assert (
        "<strong>Billing address</strong><br>Casey Accounts<br>1 Market Street<br>"
        "94105 San Francisco, CA<br>US"
    ) in html
    assert f'<a href="{link(order)}"' in html
    assert "<Deluxe>" not in html


def test_the_order_link_follows_the_setting(order, settings):
    settings.ORDER_URL_TEMPLATE = "https://shop.example.com/track?order={token}"

    emails.send_order_confirmation(order_id=order.pk)

    expected = f"https://shop.example.com/track?order={order.token}"
    assert f"Follow your order: {expected}\n" in mail.outbox[0].body
    assert f'<a href="{expected}"' in html_of(mail.outbox[0])


def test_the_placing_time_is_shown_in_utc_whatever_the_shop_time_zone(order, settings):
    settings.TIME_ZONE = "America/New_York"

    emails.send_order_confirmation(order_id=order.pk)

    assert "placed 2025-03-14 09:26 UTC" in mail.outbox[0].body
    assert "placed 2025-03-14 09:26 UTC" in html_of(mail.outbox[0])


def test_a_customer_order_is_confirmed_to_the_order_email(db, customer):
    placed = place_order(user=customer)

    emails.send_order_confirmation(order_id=placed.pk)

    assert mail.outbox[0].to == ["casey@example.com"]


def test_no_email_for_an_order_that_is_gone(db):
    emails.send_order_confirmation(order_id=999999)
    emails.send_order_status_email(order_id=999999, status="PAID")

    assert mail.outbox == []


# --- status emails ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "subject", "text", "label"),
    [
        ("PAID", "Payment received", "We received the payment for order {number}.", "Paid"),
        ("SHIPPED", "Order shipped", "Order {number} is on its way.", "Shipped"),
        ("DELIVERED", "Order delivered", "Order {number} was delivered. Enjoy!", "Delivered"),
        ("CANCELLED", "Order cancelled", "Order {number} was cancelled.", "Cancelled"),
        ("REFUNDED", "Order refunded", "Order {number} was refunded.", "Refunded"),
    ],
)
def test_a_status_email_says_what_happened(order, status, subject, text, label):
    emails.send_order_status_email(order_id=order.pk, status=status)

    (message,) = mail.outbox
    assert message.subject == f"{subject}: order {order.number}"
    assert message.to == ["guest@example.com"]
    assert message.body == (
        f"{text.format(number=order.number)}\n"
        "\n"
        f"Order {order.number}: {label}\n"
        "Total: 50.00 USD\n"
        "\n"
        f"Follow your order: {link(order)}\n"
        "\n"
    )
    html = html_of(message)
    assert f"<title>{subject}</title>" in html
    assert f"<p>{text.format(number=order.number)}</p>" in html
    assert f"<strong>{order.number}</strong>: {label}<br>Total: 50.00 USD" in html
    assert f'<a href="{link(order)}"' in html


def test_a_status_email_names_its_status_even_when_the_order_moved_on(order):
    advance(order, OrderStatus.PROCESSING)

    emails.send_order_status_email(order_id=order.pk, status="PAID")

    assert f"Order {order.number}: Paid\n" in mail.outbox[0].body


def test_each_emailed_change_sends_one_email_after_commit(db, django_capture_on_commit_callbacks):
    placed = place_order(email="guest@example.com")

    for status in ("PAID", "PROCESSING", "SHIPPED", "DELIVERED", "REFUNDED"):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            order_services.order_transition(order=placed, status=status)
        sent = len(mail.outbox)
        for callback in callbacks:
            callback()
        assert len(mail.outbox) - sent == (0 if status == "PROCESSING" else 1)

    assert [m.subject.split(":")[0] for m in mail.outbox] == [
        "Payment received",
        "Order shipped",
        "Order delivered",
        "Order refunded",
    ]
