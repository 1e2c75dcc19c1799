"""One visibility rule for every type: a model's view permission shows every row, anyone else
sees the public rows and their own; the ``is_staff`` flag alone shows nothing more."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.db.models import Q

from apps.catalog.models import Product
from apps.core.visibility import visible_to
from apps.orders.models import Order
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory, ProductVariantFactory
from tests.conftest import GraphQLClient
from tests.orders.factories import place_order

PRODUCTS = "{ products { edges { node { slug } } } }"


@pytest.fixture
def shelf(db):
    ProductVariantFactory(product=ProductFactory(slug="on-sale"))
    ProductVariantFactory(product=ProductFactory(slug="hidden", is_active=False))


def slugs(response) -> list[str]:
    return sorted(edge["node"]["slug"] for edge in response.data["products"]["edges"])


def test_a_staff_flag_without_permissions_sees_only_what_shoppers_see(shelf):
    staff = UserFactory(is_staff=True)

    assert slugs(GraphQLClient().login(staff)(PRODUCTS)) == ["on-sale"]


def test_a_user_holding_the_view_permission_sees_inactive_rows_without_being_staff(shelf):
    clerk = UserFactory(is_staff=False)
    clerk.user_permissions.add(Permission.objects.get(codename="view_product"))

    assert slugs(GraphQLClient().login(clerk)(PRODUCTS)) == ["hidden", "on-sale"]


def test_visible_to_gives_the_public_rows_to_anonymous_callers(shelf):
    rows = visible_to(AnonymousUser(), Product.objects.all(), public=Q(is_active=True))

    assert list(rows.values_list("slug", flat=True)) == ["on-sale"]


def test_visible_to_gives_owners_their_rows_and_nothing_of_others(db):
    casey, robin = UserFactory(), UserFactory()
    mine, theirs = place_order(user=casey, key="a"), place_order(user=robin, key="b")

    assert list(visible_to(casey, Order.objects.all(), owner="user")) == [mine]
    assert list(visible_to(robin, Order.objects.all(), owner="user")) == [theirs]
    assert list(visible_to(AnonymousUser(), Order.objects.all(), owner="user")) == []


def test_visible_to_without_a_permission_shows_nobody_more_than_their_own(db):
    casey = UserFactory()
    boss = UserFactory(is_superuser=True)
    place_order(user=casey, key="a")

    assert list(visible_to(boss, Order.objects.all(), owner="user", perm=None)) == []
    assert visible_to(boss, Order.objects.all(), owner="user").count() == 1
