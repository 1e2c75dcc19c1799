from datetime import timedelta

import pytest
from django.utils import timezone

from apps.delivery import services
from apps.delivery.models import Delivery, DeliveryStatus
from tests.delivery.documents import LOCATE, NODE, bearer, codes_of, result
from tests.delivery.factories import delivery_at, fresh, gid, start, world

S = DeliveryStatus
PARIS = {"latitude": 48.8606, "longitude": 2.3376}


def locate(api, delivery: Delivery, **position):
    return api(LOCATE, {"id": gid(delivery), **PARIS, **position})


def seconds_ago(delivery: Delivery, seconds: int) -> None:
    """The delivery's last position was taken ``seconds`` ago."""
    Delivery.objects.filter(pk=delivery.pk).update(
        located_at=timezone.now() - timedelta(seconds=seconds)
    )


@pytest.mark.parametrize("status", [S.PICKED_UP, S.OUT_FOR_DELIVERY])
def test_a_position_on_the_way_is_kept_and_shown(db, status):
    delivery = delivery_at(status)
    api = bearer(delivery.agent.user)
    before = timezone.now()

    response = locate(api, delivery)

    assert result(response)["lastLocation"] == PARIS
    delivery = fresh(delivery)
    assert (delivery.latitude, delivery.longitude) == (48.8606, 2.3376)
    assert before <= delivery.located_at <= timezone.now()
    shown = result(api(NODE, {"id": gid(delivery)}))["lastLocation"]
    assert shown == {**PARIS, "at": delivery.located_at.isoformat()}


@pytest.mark.parametrize(
    ("position", "fields"),
    [
        ({"latitude": 90.01}, ["latitude"]),
        ({"latitude": -90.01}, ["latitude"]),
        ({"longitude": 180.01}, ["longitude"]),
        ({"longitude": -180.01}, ["longitude"]),
        ({"latitude": 91, "longitude": 181}, ["latitude", "longitude"]),
    ],
)
def test_a_position_out_of_range_is_invalid_on_its_field(db, position, fields):
    delivery = delivery_at(S.PICKED_UP)
    snapshot = world()

    response = locate(bearer(delivery.agent.user), delivery, **position)

    assert codes_of(response) == [("invalid", field) for field in fields]
    assert world() == snapshot


@pytest.mark.parametrize("position", [{"latitude": 90, "longitude": 180}, {"latitude": -90}])
def test_the_poles_and_the_antimeridian_are_positions(db, position):
    delivery = delivery_at(S.PICKED_UP)

    response = locate(bearer(delivery.agent.user), delivery, **position)

    assert result(response)["lastLocation"] == {**PARIS, **position}


@pytest.mark.parametrize("status", [S.ASSIGNED, S.FAILED, S.DELIVERED, S.RETURNED, S.CANCELLED])
def test_no_position_while_the_delivery_is_not_on_its_way(db, status):
    delivery = delivery_at(status)
    snapshot = world()

    response = locate(bearer(delivery.agent.user), delivery)

    assert codes_of(response) == [("not_on_the_way", None)]
    assert world() == snapshot


def test_a_second_position_within_the_interval_is_rate_limited(db, settings):
    settings.DELIVERY_LOCATION_INTERVAL_SECONDS = 60
    delivery = delivery_at(S.PICKED_UP)
    api = bearer(delivery.agent.user)
    locate(api, delivery)
    seconds_ago(delivery, 59)
    snapshot = world()

    response = locate(api, delivery, latitude=48.87)

    assert codes_of(response) == [("rate_limited", None)]
    assert result(response)["messages"][0]["message"] == "One position every 60 seconds, please."
    assert world() == snapshot


def test_a_position_after_the_interval_is_taken(db, settings):
    settings.DELIVERY_LOCATION_INTERVAL_SECONDS = 60
    delivery = delivery_at(S.PICKED_UP)
    api = bearer(delivery.agent.user)
    locate(api, delivery)
    seconds_ago(delivery, 61)

    response = locate(api, delivery, latitude=48.87)

    assert result(response)["lastLocation"] == {**PARIS, "latitude": 48.87}
    assert fresh(delivery).latitude == 48.87


def test_the_last_position_goes_with_the_step_it_was_taken_at(db):
    delivery = delivery_at(S.PICKED_UP)
    courier = delivery.agent
    services.delivery_location_update(delivery=delivery, agent=courier, **PARIS)
    start(delivery, courier)

    services.delivery_fail(delivery=delivery, agent=courier, reason="NOBODY_HOME")

    events = list(delivery.events.values_list("status", "latitude", "longitude"))
    assert events == [
        (S.ASSIGNED, None, None),
        (S.PICKED_UP, None, None),
        (S.OUT_FOR_DELIVERY, None, None),
        (S.FAILED, 48.8606, 2.3376),
    ]


def test_a_position_is_published_to_the_delivery_and_its_order(
    db, published, django_capture_on_commit_callbacks
):
    delivery = delivery_at(S.PICKED_UP)

    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_location_update(delivery=delivery, agent=delivery.agent, **PARIS)

    [event] = [e for e in published if e.type == "delivery.location"]
    assert set(event.groups) == {
        f"delivery:{delivery.pk}",
        f"order:{delivery.order_id}",
        "deliveries",
    }
    assert event.payload == {
        "delivery_id": delivery.pk,
        "order_id": delivery.order_id,
        **PARIS,
    }
