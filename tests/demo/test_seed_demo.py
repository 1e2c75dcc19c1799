from io import StringIO

from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count

from apps.accounts.models import Address, User
from apps.catalog.models import Category, Product, ProductVariant
from apps.demo.management.commands.seed_demo import DEMO_ADMIN, DEMO_CUSTOMER
from tests.catalog.factories import catalog_snapshot


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {
        "categories": Category.objects.count(),
        "products": Product.objects.count(),
        "variants": ProductVariant.objects.count(),
        "users": User.objects.count(),
        "addresses": Address.objects.count(),
    }


def test_seed_demo_creates_the_catalog(db):
    output = seed()

    # Clothing, Home and Electronics with two leaves each; Wellness (the salon) with Hair and Studio.
    assert Category.objects.count() == 12
    assert Category.objects.filter(parent=None).count() == 4
    assert Product.objects.count() >= 60
    assert Product.objects.filter(is_active=False).count() == 0
    variant_counts = set(Product.objects.annotate(n=Count("variants")).values_list("n", flat=True))
    assert variant_counts <= {1, 2, 3, 4}
    assert min(variant_counts) >= 1
    # Every product sits in a leaf category, below a root.
    assert not Product.objects.filter(category__parent=None).exists()
    assert not ProductVariant.objects.filter(price__lte=0).exists()
    assert not ProductVariant.objects.filter(stock_quantity__lt=0).exists()
    assert f"{Product.objects.count()} products" in output


def test_seed_demo_gives_every_product_a_picture_once(db):
    from PIL import Image

    from apps.catalog.models import ProductImage

    seed()
    seed()  # again: no second picture

    assert ProductImage.objects.count() == Product.objects.count()
    image = ProductImage.objects.select_related("product").first()
    assert image.alt == image.product.name
    with image.image.open() as stored, Image.open(stored) as picture:
        assert (picture.format, picture.size) == ("PNG", (320, 320))
    assert image.image.size < 20_000  # small


def test_seed_demo_creates_the_demo_accounts(db):
    seed()

    customer_email, customer_password = DEMO_CUSTOMER
    admin_email, admin_password = DEMO_ADMIN
    customer = authenticate(email=customer_email, password=customer_password)
    admin = authenticate(email=admin_email, password=admin_password)
    assert customer is not None
    assert admin is not None
    assert (customer.is_staff, customer.is_superuser) == (False, False)
    assert customer.default_shipping_address == customer.default_billing_address
    assert customer.default_shipping_address.user == customer
    assert admin.is_staff is True
    assert list(admin.groups.values_list("name", flat=True)) == ["Store admin"]
    assert admin.has_perm("catalog.add_product")


def test_seed_demo_is_idempotent(db):
    seed()
    counts = row_counts()
    snapshot = catalog_snapshot()

    seed()

    assert row_counts() == counts
    again = catalog_snapshot()
    for rows in (*snapshot.values(), *again.values()):
        for row in rows:
            row.pop("updated_at", None)
    assert again == snapshot
    admin = User.objects.get(email=DEMO_ADMIN[0])
    assert admin.groups.count() == 1


def test_seed_demo_restores_demo_rows_that_were_changed(db):
    seed()
    product = Product.objects.order_by("pk").first()
    seeded_name = product.name
    Product.objects.filter(pk=product.pk).update(is_active=False, name="Broken")
    User.objects.filter(email=DEMO_CUSTOMER[0]).update(password="!")

    seed()

    product.refresh_from_db()
    assert (product.is_active, product.name) == (True, seeded_name)
    assert authenticate(email=DEMO_CUSTOMER[0], password=DEMO_CUSTOMER[1]) is not None


def test_seed_demo_products_are_visible_in_the_api(gql):
    seed()

    response = gql("{ products(first: 1) { totalCount } categories { slug } }")

    assert response.data["products"]["totalCount"] == Product.objects.count()
    assert [c["slug"] for c in response.data["categories"]] == [
        "clothing",
        "electronics",
        "home",
        "wellness",
    ]
