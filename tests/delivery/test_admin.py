import pytest
from django.contrib.admin import helpers
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from apps.delivery import services
from apps.delivery.models import CashHandIn, Delivery, DeliveryAgent, DeliveryStatus
from apps.notifications.models import Notification
from apps.orders.models import OrderStatus
from tests.accounts.factories import UserFactory
from tests.delivery.factories import agent, cash_order, delivery_at, delivery_of, fresh, walk, world

S = DeliveryStatus
DELIVERIES = "/admin/delivery/delivery/"
AGENTS = "/admin/delivery/deliveryagent/"
HAND_INS = "/admin/delivery/cashhandin/"


@pytest.fixture
def root(db):
    return UserFactory(email="root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(root) -> Client:
    client = Client()
    client.force_login(root)
    return client


def change_agent(client: Client, delivery: Delivery, courier: DeliveryAgent | None):
    """Post the change form of ``delivery`` with ``courier`` as its agent."""
    events = list(delivery.events.order_by("created_at", "id").values_list("pk", flat=True))
    data = {
        "agent": str(courier.pk) if courier else "",
        "events-TOTAL_FORMS": str(len(events)),
        "events-INITIAL_FORMS": str(len(events)),
        "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for n, pk in enumerate(events):
        data[f"events-{n}-id"] = str(pk)
        data[f"events-{n}-delivery"] = str(delivery.pk)
    return client.post(f"{DELIVERIES}{delivery.pk}/change/", data)


def shown(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


# --- the pages render -------------------------------------------------------------------------


def test_the_delivery_list_and_page_render(admin_client):
    delivery = delivery_at(S.OUT_FOR_DELIVERY)

    listing = admin_client.get(DELIVERIES)
    page = admin_client.get(f"{DELIVERIES}{delivery.pk}/change/")

    assert listing.status_code == 200
    assert delivery.order.number in listing.content.decode()
    assert page.status_code == 200
    content = page.content.decode()
    assert delivery.order.number in content
    assert "Attempt 1." in content  # its events
    assert "Assigned to Dana Rider." in content
    assert list(page.context["adminform"].form.fields) == ["agent"]


@pytest.mark.parametrize("query", ["", "?status__exact=DELIVERED", "?q=SC-", "?agent__id__exact=1"])
def test_the_delivery_list_filters_and_searches(admin_client, query):
    delivery_at(S.DELIVERED)

    assert admin_client.get(f"{DELIVERIES}{query}").status_code == 200


def test_the_courier_list_and_page_render(admin_client):
    courier = agent(first_name="Nina", last_name="Roy")

    listing = admin_client.get(AGENTS)
    page = admin_client.get(f"{AGENTS}{courier.pk}/change/")

    assert listing.status_code == 200
    assert "Nina Roy" in listing.content.decode()
    assert page.status_code == 200
    assert "+33 6 12 34 56 78" in page.content.decode()


def test_the_hand_in_list_and_page_render(admin_client, root):
    delivery = delivery_at(S.DELIVERED, order=cash_order())
    services.cash_hand_in(
        agent=delivery.agent,
        day=timezone.localdate(delivery.delivered_at),
        amount=delivery.cash_collected,
        actor=root,
    )
    hand_in = CashHandIn.objects.get()

    listing = admin_client.get(HAND_INS)
    page = admin_client.get(f"{HAND_INS}{hand_in.pk}/change/")

    assert listing.status_code == 200
    assert page.status_code == 200
    assert str(hand_in.amount) in page.content.decode()


def test_nothing_is_added_or_deleted_in_the_admin(admin_client):
    delivery = delivery_at(S.ASSIGNED)

    assert admin_client.get(f"{DELIVERIES}add/").status_code == 403
    assert admin_client.get(f"{HAND_INS}add/").status_code == 403
    assert admin_client.get(f"{DELIVERIES}{delivery.pk}/delete/").status_code == 403
    assert admin_client.get(f"{AGENTS}{delivery.agent_id}/delete/").status_code == 403


# --- assigning --------------------------------------------------------------------------------


def test_choosing_the_agent_of_a_delivery_assigns_it(admin_client, root):
    delivery = delivery_of(cash_order())
    courier = agent(first_name="Nina", last_name="Roy")

    response = change_agent(admin_client, delivery, courier)

    assert response.status_code == 302
    delivery = fresh(delivery)
    assert (delivery.status, delivery.agent) == (S.ASSIGNED, courier)
    event = delivery.events.get()
    assert (event.status, event.note, event.actor) == (S.ASSIGNED, "Assigned to Nina Roy.", root)
    assert Notification.objects.filter(
        user=courier.user, kind=Notification.Kind.DELIVERY_ASSIGNED
    ).exists()


def test_choosing_another_agent_reassigns_it(admin_client, root):
    delivery = delivery_at(S.PICKED_UP)
    courier = agent(first_name="Nina", last_name="Roy")

    change_agent(admin_client, delivery, courier)

    delivery = fresh(delivery)
    assert (delivery.status, delivery.agent) == (S.PICKED_UP, courier)
    assert delivery.events.last().note == "Reassigned from Dana Rider to Nina Roy."


def test_saving_a_delivery_without_changing_its_agent_changes_nothing(admin_client):
    delivery = delivery_at(S.ASSIGNED)
    snapshot = world()

    response = change_agent(admin_client, delivery, delivery.agent)

    assert response.status_code == 302
    assert world() == snapshot


def test_an_inactive_agent_is_no_choice(admin_client):
    delivery = delivery_at(S.ASSIGNED)
    idle = services.agent_update(agent=agent(first_name="Idle"), is_active=False)
    snapshot = world()

    response = change_agent(admin_client, delivery, idle)

    assert response.status_code == 200  # the form again, with its error
    assert "agent" in response.context["adminform"].form.errors
    assert world() == snapshot


@pytest.mark.parametrize("status", list(S))
def test_the_page_of_a_delivery_in_any_status_renders(admin_client, status):
    delivery = delivery_at(status)

    page = admin_client.get(f"{DELIVERIES}{delivery.pk}/change/")

    assert page.status_code == 200
    editable = list(page.context["adminform"].form.fields)
    over = status in (S.DELIVERED, S.RETURNED, S.CANCELLED)
    assert editable == ([] if over else ["agent"])  # a finished delivery has none to change


# --- returning --------------------------------------------------------------------------------


def run_return(client: Client, *deliveries: Delivery):
    response = client.post(
        DELIVERIES,
        {
            "action": "return_to_shop",
            helpers.ACTION_CHECKBOX_NAME: [d.pk for d in deliveries],
            "index": "0",
        },
    )
    assert response.status_code == 302
    return shown(response)


def test_the_return_action_returns_a_failed_delivery(admin_client, root):
    order = cash_order()
    delivery = delivery_of(order)
    walk(delivery, S.FAILED)

    messages = run_return(admin_client, delivery)

    assert messages == [("success", "1 delivery(ies) returned.")]
    delivery = fresh(delivery)
    assert delivery.status == S.RETURNED
    event = delivery.events.last()
    assert (event.note, event.actor) == ("In the admin.", root)
    assert delivery.order.status == OrderStatus.CANCELLED


def test_the_return_action_refuses_a_delivery_that_did_not_fail(admin_client):
    failed = delivery_at(S.FAILED)
    out = delivery_at(S.OUT_FOR_DELIVERY)

    messages = run_return(admin_client, failed, out)

    assert sorted(messages) == [
        (
            "error",
            f"{out.order.number}: A delivery that is out for delivery cannot be returned "
            "to the shop.",
        ),
        ("success", "1 delivery(ies) returned."),
    ]
    assert (fresh(failed).status, fresh(out).status) == (S.RETURNED, S.OUT_FOR_DELIVERY)


# --- couriers ---------------------------------------------------------------------------------


def test_adding_a_courier_in_the_admin_puts_them_in_the_group(admin_client):
    user = UserFactory(email="nina@example.com")

    response = admin_client.post(
        f"{AGENTS}add/",
        {"user": str(user.pk), "phone": "+33 6 99 99 99 99", "vehicle": "Van", "is_active": "on"},
    )

    assert response.status_code == 302
    courier = DeliveryAgent.objects.get()
    assert (courier.user, courier.phone, courier.vehicle) == (user, "+33 6 99 99 99 99", "Van")
    assert user.groups.filter(name="Delivery agent").exists()
