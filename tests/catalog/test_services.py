import re
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from apps.catalog import services
from apps.catalog.models import (
    Category,
    Product,
    ProductImage,
    ProductKind,
    ProductVariant,
    StockMovement,
)
from tests.accounts.factories import UserFactory
from tests.catalog.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    ProductVariantFactory,
    catalog_snapshot,
    png_bytes,
    png_upload,
)


def codes(error: ValidationError) -> dict[str, list[str]]:
    """The codes of a ValidationError by field, as the API reports them."""
    if hasattr(error, "error_dict"):
        return {
            field: [e.code for e in errors] for field, errors in sorted(error.error_dict.items())
        }
    return {NON_FIELD_ERRORS: [e.code for e in error.error_list]}


def variant_data(**overrides) -> dict:
    data = {
        "sku": "NEW-1",
        "name": "Default",
        "price": Decimal("10.00"),
        "stock_quantity": 0,
        "is_active": True,
    }
    data.update(overrides)
    return data


# --- Categories ---------------------------------------------------------------------------------


def test_category_create_derives_a_unique_slug_from_the_name(db):
    first = services.category_create(name="  Kitchen & Dining ", description=" Pots. ")
    second = services.category_create(name="Kitchen & Dining")
    third = services.category_create(name="Kitchen & Dining", parent=first)

    assert (first.name, first.slug, first.description) == (
        "Kitchen & Dining",
        "kitchen-dining",
        "Pots.",
    )
    assert second.slug == "kitchen-dining-2"
    assert third.slug == "kitchen-dining-3"
    assert third.parent == first


def test_category_create_with_a_name_without_letters_gets_a_fallback_slug(db):
    category = services.category_create(name="!!!")

    assert category.slug == "item"


def test_category_create_keeps_a_given_slug_lowercased(db):
    category = services.category_create(name="Kitchen", slug=" Cook-Ware ")

    assert category.slug == "cook-ware"


@pytest.mark.parametrize(
    ("slug", "expected"),
    [("taken", "slug_taken"), ("not a slug!", "invalid")],
)
def test_category_create_refuses_a_bad_slug(db, slug, expected):
    CategoryFactory(slug="taken")
    before = catalog_snapshot()

    with pytest.raises(ValidationError) as error:
        services.category_create(name="Kitchen", slug=slug)

    assert codes(error.value) == {"slug": [expected]}
    assert catalog_snapshot() == before


def test_category_create_needs_a_name(db):
    CategoryFactory()
    before = catalog_snapshot()

    with pytest.raises(ValidationError) as error:
        services.category_create(name="   ")

    assert codes(error.value) == {"name": ["required"]}
    assert catalog_snapshot() == before


def test_category_update_changes_fields_and_moves_to_the_top(db):
    root = CategoryFactory(slug="root")
    child = CategoryFactory(parent=root, slug="child")

    updated = services.category_update(
        category=child, name=" Pans ", slug="pans", description=" Iron. ", parent=None
    )

    updated.refresh_from_db()
    assert (updated.name, updated.slug, updated.description, updated.parent) == (
        "Pans",
        "pans",
        "Iron.",
        None,
    )


def test_category_update_without_parent_keeps_it(db):
    root = CategoryFactory()
    child = CategoryFactory(parent=root)

    services.category_update(category=child, name="Renamed")

    child.refresh_from_db()
    assert (child.name, child.parent) == ("Renamed", root)


def test_category_update_refuses_a_slug_used_by_another_category(db):
    CategoryFactory(slug="taken")
    category = CategoryFactory(slug="mine")
    before = catalog_snapshot()

    with pytest.raises(ValidationError) as error:
        services.category_update(category=category, slug="taken")

    assert codes(error.value) == {"slug": ["slug_taken"]}
    assert catalog_snapshot() == before


@pytest.mark.parametrize("target", ["itself", "child", "grandchild"])
def test_category_update_refuses_to_move_below_itself(db, target):
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    parent = {"itself": root, "child": child, "grandchild": grandchild}[target]
    before = catalog_snapshot()

    with pytest.raises(ValidationError) as error:
        services.category_update(category=root, parent=parent)

    assert codes(error.value) == {"parentId": ["invalid"]}
    assert catalog_snapshot() == before


def test_category_update_moves_below_a_sibling(db):
    root = CategoryFactory()
    first = CategoryFactory(parent=root)
    second = CategoryFactory(parent=root)

    services.category_update(category=second, parent=first)

    second.refresh_from_db()
    assert second.parent == first


def test_category_delete_removes_an_empty_category(db):
    category = CategoryFactory()
    pk = category.pk

    deleted = services.category_delete(category=category)

    assert deleted.pk == pk
    assert not Category.objects.filter(pk=pk).exists()


@pytest.mark.parametrize("content", ["product", "child"])
def test_category_delete_refuses_a_category_with_products_or_children(db, content):
    category = CategoryFactory()
    if content == "product":
        ProductVariantFactory(product__category=category)
    else:
        CategoryFactory(parent=category)
    before = catalog_snapshot()

    with pytest.raises(ValidationError) as error:
        services.category_delete(category=category)

    assert error.value.code == "category_not_empty"
    assert catalog_snapshot() == before


def test_category_delete_refuses_a_category_with_inactive_products(db):
    category = CategoryFactory()
    ProductVariantFactory(product__category=category, product__is_active=False)
    before = catalog_snapshot()

    with pytest.raises(ValidationError) as error:
        services.category_delete(category=category)

    assert error.value.code == "category_not_empty"
    assert catalog_snapshot() == before


def test_descendant_ids_walks_the_whole_tree(db):
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    other = CategoryFactory()
    CategoryFactory(parent=other)

    assert sorted(Category.objects.descendant_ids([root.pk])) == sorted(
        [root.pk, child.pk, grandchild.pk]
    )
    assert Category.objects.descendant_ids([grandchild.pk]) == [grandchild.pk]
    assert Category.objects.descendant_ids([]) == []


# --- Products -----------------------------------------------------------------------------------


def test_product_create_with_variants_and_initial_stock(db):
    category = CategoryFactory()
    actor = UserFactory()

    product = services.product_create(
        name=" Cast Iron Pan ",
        description=" Sears. ",
        category=category,
        variants=[
            variant_data(sku="PAN-S", name=" Small ", price=Decimal("19.5"), stock_quantity=4),
            variant_data(sku="PAN-L", name="Large", price="29.99", is_active=False),
        ],
        actor=actor,
    )

    product.refresh_from_db()
    assert (product.name, product.slug, product.description, product.category) == (
        "Cast Iron Pan",
        "cast-iron-pan",
        "Sears.",
        category,
    )
    assert product.is_active is True
    assert product.archived_at is None
    assert list(
        product.variants.order_by("sku").values_list(
            "sku", "name", "price", "stock_quantity", "is_active"
        )
    ) == [
        ("PAN-L", "Large", Decimal("29.99"), 0, False),
        ("PAN-S", "Small", Decimal("19.50"), 4, True),
    ]
    # Only the variant that starts with stock has a movement.
    assert list(
        StockMovement.objects.values_list(
            "variant__sku", "kind", "delta", "quantity_after", "reason", "actor"
        )
    ) == [("PAN-S", "set", 4, 4, "Initial stock", actor.pk)]


def test_product_create_makes_the_derived_slug_unique(db):
    category = CategoryFactory()
    ProductFactory(slug="teapot")

    first = services.product_create(
        name="Teapot", category=category, variants=[variant_data(sku="A")]
    )
    second = services.product_create(
        name="Teapot", category=category, variants=[variant_data(sku="B")]
    )

    assert (first.slug, second.slug) == ("teapot-2", "teapot-3")


def test_product_create_inactive(db):
    product = services.product_create(
        name="Draft", category=CategoryFactory(), variants=[variant_data()], is_active=False
    )

    product.refresh_from_db()
    assert product.is_active is False


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"variants": []}, {"variants": ["required"]}),
        ({"name": "  "}, {"name": ["required"]}),
        ({"slug": "taken"}, {"slug": ["slug_taken"]}),
        ({"slug": "no spaces"}, {"slug": ["invalid"]}),
        ({"variants": [variant_data(sku="USED")]}, {"variants.0.sku": ["sku_taken"]}),
        ({"variants": [variant_data(sku="used")]}, {"variants.0.sku": ["sku_taken"]}),
        (
            {"variants": [variant_data(sku="A"), variant_data(sku="USED")]},
            {"variants.1.sku": ["sku_taken"]},
        ),
        (
            {"variants": [variant_data(sku="SAME"), variant_data(sku="same ")]},
            {"variants": ["sku_taken"]},
        ),
        ({"variants": [variant_data(price=Decimal("0"))]}, {"variants.0.price": ["invalid"]}),
        ({"variants": [variant_data(price=Decimal("-1"))]}, {"variants.0.price": ["invalid"]}),
        ({"variants": [variant_data(price="abc")]}, {"variants.0.price": ["invalid"]}),
        ({"variants": [variant_data(price="NaN")]}, {"variants.0.price": ["invalid"]}),
        ({"variants": [variant_data(price=None)]}, {"variants.0.price": ["invalid"]}),
        (
            {"variants": [variant_data(stock_quantity=-1)]},
            {"variants.0.stockQuantity": ["invalid"]},
        ),
        ({"variants": [variant_data(sku="  ")]}, {"variants.0.sku": ["required"]}),
        (
            {"variants": [variant_data(price=Decimal("12345678901.00"))]},
            {"variants.0.price": ["invalid"]},
        ),
    ],
    ids=[
        "no-variants",
        "blank-name",
        "slug-taken",
        "slug-invalid",
        "sku-taken",
        "sku-taken-other-case",
        "second-sku-taken",
        "sku-repeated",
        "price-zero",
        "price-negative",
        "price-not-a-number",
        "price-nan",
        "price-missing",
        "stock-negative",
        "sku-blank",
        "price-too-many-digits",
    ],
)
def test_product_create_refuses_invalid_input(db, kwargs, expected):
    category = CategoryFactory()
    ProductVariantFactory(sku="USED", product__slug="taken")
    before = catalog_snapshot()
    arguments = {"name": "Teapot", "category": category, "variants": [variant_data()]}
    arguments.update(kwargs)

    with pytest.raises(ValidationError) as error:
        services.product_create(**arguments)

    assert codes(error.value) == expected
    assert catalog_snapshot() == before


def test_product_update_changes_only_what_is_given(db):
    product = ProductFactory(name="Teapot", slug="teapot", description="Old.")
    other = CategoryFactory()

    services.product_update(product=product, name=" Big Teapot ", category=other)

    product.refresh_from_db()
    assert (product.name, product.slug, product.description, product.category) == (
        "Big Teapot",
        "teapot",
        "Old.",
        other,
    )


def test_product_update_slug_and_description(db):
    product = ProductFactory(slug="teapot")

    services.product_update(product=product, slug="tea-pot", description=" New. ")

    product.refresh_from_db()
    assert (product.slug, product.description) == ("tea-pot", "New.")


def test_product_update_keeps_its_own_slug(db):
    product = ProductFactory(slug="teapot")

    services.product_update(product=product, slug="teapot")

    product.refresh_from_db()
    assert product.slug == "teapot"


def test_product_update_reactivating_clears_the_archive_date(db):
    product = ProductFactory(is_active=False)
    Product.objects.filter(pk=product.pk).update(archived_at="2026-01-01T00:00:00Z")
    product.refresh_from_db()

    services.product_update(product=product, is_active=True)

    product.refresh_from_db()
    assert (product.is_active, product.archived_at) == (True, None)


def test_product_update_deactivates(db):
    product = ProductFactory()

    services.product_update(product=product, is_active=False)

    product.refresh_from_db()
    assert product.is_active is False


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"slug": "taken"}, {"slug": ["slug_taken"]}),
        ({"slug": "bad slug"}, {"slug": ["invalid"]}),
        ({"name": ""}, {"name": ["required"]}),
    ],
)
def test_product_update_refuses_invalid_input(db, kwargs, expected):
    ProductFactory(slug="taken")
    product = ProductFactory(slug="mine")
    before = catalog_snapshot()

    with pytest.raises(ValidationError) as error:
        services.product_update(product=product, **kwargs)

    assert codes(error.value) == expected
    assert catalog_snapshot() == before


def test_product_delete_removes_the_product_and_everything_it_owns(
    db, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    variant = ProductVariantFactory(product=product)
    services.stock_update(variant=variant, delta=2, reason="Count")
    ProductImageFactory(product=product)
    kept = ProductVariantFactory()
    pk = product.pk

    deleted = services.product_delete(product=product)

    assert deleted.pk == pk
    assert not Product.objects.filter(pk=pk).exists()
    assert list(ProductVariant.objects.all()) == [kept]
    assert ProductImage.objects.count() == 0
    assert StockMovement.objects.count() == 0


def test_product_delete_archives_a_product_that_is_still_referenced(db, monkeypatch):
    product = ProductFactory()
    variant = ProductVariantFactory(product=product)

    def refuse(self, *args, **kwargs):  # what an order line's PROTECT foreign key does
        raise ProtectedError("Referenced by an order.", {self})

    monkeypatch.setattr(Product, "delete", refuse)

    archived = services.product_delete(product=product)

    product.refresh_from_db()
    assert archived.pk == product.pk
    assert product.is_active is False
    assert product.archived_at is not None
    assert list(product.variants.all()) == [variant]


def test_variant_delete_deactivates_a_variant_that_is_still_referenced(db, monkeypatch):
    product = ProductFactory()
    ProductVariantFactory(product=product)
    variant = ProductVariantFactory(product=product)

    def refuse(self, *args, **kwargs):
        raise ProtectedError("Referenced by a cart line.", {self})

    monkeypatch.setattr(ProductVariant, "delete", refuse)

    services.variant_delete(variant=variant)

    variant.refresh_from_db()
    assert variant.is_active is False
    assert product.variants.count() == 2


# --- Variants -----------------------------------------------------------------------------------


def test_variant_create_adds_a_variant_with_its_initial_stock(db):
    product = ProductVariantFactory().product
    actor = UserFactory()

    variant = services.variant_create(
        product=product,
        data=variant_data(sku="NEW-2", price=Decimal("3.10"), stock_quantity=6),
        actor=actor,
    )

    variant.refresh_from_db()
    assert (variant.product, variant.sku, variant.price, variant.stock_quantity) == (
        product,
        "NEW-2",
        Decimal("3.10"),
        6,
    )
    assert list(
        variant.stock_movements.values_list("kind", "delta", "quantity_after", "reason", "actor")
    ) == [("set", 6, 6, "Initial stock", actor.pk)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (variant_data(sku="USED"), {"sku": ["sku_taken"]}),
        (variant_data(price=Decimal("0")), {"price": ["invalid"]}),
        (variant_data(price=Decimal("-1")), {"price": ["invalid"]}),
        (variant_data(stock_quantity=-3), {"stockQuantity": ["invalid"]}),
        (variant_data(sku=""), {"sku": ["required"]}),
    ],
)
def test_variant_create_refuses_invalid_input(db, data, expected):
    product = ProductVariantFactory(sku="USED").product
    before = catalog_snapshot()

    with pytest.raises(ValidationError) as error:
        services.variant_create(product=product, data=data)

    assert codes(error.value) == expected
    assert catalog_snapshot() == before


def test_variant_update_changes_only_what_is_given(db):
    variant = ProductVariantFactory(sku="OLD", name="Small", price=Decimal("5.00"))

    services.variant_update(variant=variant, sku=" NEW ", price=Decimal("6.5"), is_active=False)

    variant.refresh_from_db()
    assert (variant.sku, variant.name, variant.price, variant.is_active) == (
        "NEW",
        "Small",
        Decimal("6.50"),
        False,
    )


def test_variant_update_keeps_its_own_sku(db):
    variant = ProductVariantFactory(sku="MINE")

    services.variant_update(variant=variant, sku="mine", name=" Large ")

    variant.refresh_from_db()
    assert (variant.sku, variant.name) == ("mine", "Large")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"sku": "used"}, {"sku": ["sku_taken"]}),
        ({"sku": ""}, {"sku": ["required"]}),
        ({"price": Decimal("0")}, {"price": ["invalid"]}),
        ({"price": Decimal("-1")}, {"price": ["invalid"]}),
    ],
)
def test_variant_update_refuses_invalid_input(db, kwargs, expected):
    ProductVariantFactory(sku="USED")
    variant = ProductVariantFactory(sku="MINE")
    before = catalog_snapshot()

    with pytest.raises(ValidationError) as error:
        services.variant_update(variant=variant, **kwargs)

    assert codes(error.value) == expected
    assert catalog_snapshot() == before


def test_variant_delete_removes_one_of_several_variants(db):
    product = ProductFactory()
    keep = ProductVariantFactory(product=product)
    drop = ProductVariantFactory(product=product)
    pk = drop.pk

    deleted = services.variant_delete(variant=drop)

    assert deleted.pk == pk
    assert list(product.variants.all()) == [keep]


def test_variant_delete_refuses_the_last_variant(db):
    variant = ProductVariantFactory()
    before = catalog_snapshot()

    with pytest.raises(ValidationError) as error:
        services.variant_delete(variant=variant)

    assert error.value.code == "last_variant"
    assert catalog_snapshot() == before


# --- Stock --------------------------------------------------------------------------------------


def test_stock_update_sets_the_quantity_and_records_the_movement(db):
    variant = ProductVariantFactory(stock_quantity=10)
    actor = UserFactory()

    updated = services.stock_update(variant=variant, quantity=3, reason=" Stocktake ", actor=actor)

    variant.refresh_from_db()
    assert updated.stock_quantity == variant.stock_quantity == 3
    assert list(
        StockMovement.objects.values_list(
            "variant", "kind", "delta", "quantity_after", "reason", "actor"
        )
    ) == [(variant.pk, "set", -7, 3, "Stocktake", actor.pk)]


def test_stock_update_changes_by_a_delta_and_records_each_movement(db):
    variant = ProductVariantFactory(stock_quantity=10)
    actor = UserFactory()

    services.stock_update(variant=variant, delta=5, reason="Delivery", actor=actor)
    services.stock_update(variant=variant, delta=-15, reason="Damaged", actor=None)

    variant.refresh_from_db()
    assert variant.stock_quantity == 0
    assert list(
        StockMovement.objects.order_by("id").values_list(
            "kind", "delta", "quantity_after", "reason", "actor"
        )
    ) == [("delta", 5, 15, "Delivery", actor.pk), ("delta", -15, 0, "Damaged", None)]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"delta": -11, "reason": "Oops"}, {"delta": ["insufficient_stock"]}),
        ({"quantity": -1, "reason": "Oops"}, {"quantity": ["invalid"]}),
        ({"reason": "Nothing"}, {NON_FIELD_ERRORS: ["invalid"]}),
        ({"quantity": 1, "delta": 1, "reason": "Both"}, {NON_FIELD_ERRORS: ["invalid"]}),
        ({"quantity": 1, "reason": "   "}, {"reason": ["required"]}),
        ({"delta": 1, "reason": ""}, {"reason": ["required"]}),
    ],
    ids=["below-zero", "negative-quantity", "neither", "both", "blank-reason", "empty-reason"],
)
def test_stock_update_refuses_invalid_changes(db, kwargs, expected):
    variant = ProductVariantFactory(stock_quantity=10)
    before = catalog_snapshot()

    with pytest.raises(ValidationError) as error:
        services.stock_update(variant=variant, **kwargs)

    assert codes(error.value) == expected
    assert catalog_snapshot() == before


def test_stock_update_refuses_a_reason_longer_than_the_column_and_changes_nothing(db):
    variant = ProductVariantFactory(stock_quantity=1)

    services.stock_update(variant=variant, delta=1, reason="x" * 255)
    with pytest.raises(ValidationError) as raised:
        services.stock_update(variant=variant, delta=1, reason="x" * 256)

    assert codes(raised.value) == {"reason": ["invalid"]}
    assert list(StockMovement.objects.values_list("reason", flat=True)) == ["x" * 255]
    variant.refresh_from_db()
    assert variant.stock_quantity == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"delta": 2_147_483_647}, "delta"),
        ({"quantity": 2_147_483_647}, "quantity"),
    ],
)
def test_stock_update_refuses_stock_past_its_bound_and_changes_nothing(db, kwargs, field):
    variant = ProductVariantFactory(stock_quantity=5)

    with pytest.raises(ValidationError) as raised:
        services.stock_update(variant=variant, reason="Count", **kwargs)

    assert codes(raised.value) == {field: ["invalid"]}
    variant.refresh_from_db()
    assert variant.stock_quantity == 5
    assert not StockMovement.objects.exists()


def test_database_refuses_negative_stock_and_non_positive_prices(db):
    variant = ProductVariantFactory(stock_quantity=1, price=Decimal("1.00"))

    with pytest.raises(IntegrityError), transaction.atomic():
        ProductVariant.objects.filter(pk=variant.pk).update(stock_quantity=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductVariant.objects.filter(pk=variant.pk).update(price=Decimal("0"))

    variant.refresh_from_db()
    assert (variant.stock_quantity, variant.price) == (1, Decimal("1.00"))


# --- Images -------------------------------------------------------------------------------------


def test_product_image_upload_stores_the_image_with_its_size(db):
    product = ProductFactory()

    first = services.product_image_upload(
        product=product, upload=png_upload("front.png", width=4, height=3), alt=" Front "
    )
    second = services.product_image_upload(product=product, upload=png_upload("back.png"))

    first.refresh_from_db()
    assert (first.alt, first.sort_order, first.width, first.height) == ("Front", 0, 4, 3)
    # a random name of our own, with the extension of the detected format
    assert re.fullmatch(rf"products/{product.pk}/[0-9a-f]{{32}}\.png", first.image.name)
    assert default_storage.exists(first.image.name)
    with default_storage.open(first.image.name) as stored:
        assert stored.read() == png_bytes(width=4, height=3)
    assert second.sort_order == 1
    assert list(product.images.all()) == [first, second]


def stored_files(product) -> list[str]:
    try:
        return default_storage.listdir(f"products/{product.pk}")[1]
    except FileNotFoundError:
        return []


def gif_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("P", (2, 2)).save(buffer, format="GIF")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name", ["evil.html", "evil.svg", "photo.png", "photo.jpg"], ids=lambda name: name
)
def test_product_image_upload_refuses_a_name_that_says_another_format(db, name):
    product = ProductFactory()
    # a GIF and HTML polyglot: Pillow reads a valid GIF, a browser would read a page
    upload = SimpleUploadedFile(name, gif_bytes() + b"<script>alert(1)</script>")
    before = catalog_snapshot()

    files_before = stored_files(product)
    with pytest.raises(ValidationError) as error:
        services.product_image_upload(product=product, upload=upload)

    assert codes(error.value) == {"image": ["invalid_image"]}
    assert f"named .{name.rsplit('.', 1)[1]}" in error.value.error_dict["image"][0].message
    assert catalog_snapshot() == before
    assert stored_files(product) == files_before


@pytest.mark.parametrize("name", ["picture.GIF", "picture"])
def test_product_image_upload_names_the_file_by_its_detected_format(db, name):
    product = ProductFactory()

    image = services.product_image_upload(
        product=product, upload=SimpleUploadedFile(name, gif_bytes())
    )

    assert re.fullmatch(rf"products/{product.pk}/[0-9a-f]{{32}}\.gif", image.image.name)


def test_product_image_upload_accepts_jpeg(db):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), "blue").save(buffer, format="JPEG")
    upload = SimpleUploadedFile("photo.jpg", buffer.getvalue(), content_type="image/jpeg")

    image = services.product_image_upload(product=ProductFactory(), upload=upload)

    assert (image.width, image.height) == (2, 2)


def bmp_upload() -> SimpleUploadedFile:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, format="BMP")
    return SimpleUploadedFile("photo.bmp", buffer.getvalue(), content_type="image/bmp")


@pytest.mark.parametrize(
    "make_upload",
    [
        lambda: SimpleUploadedFile("notes.txt", b"just some text", content_type="text/plain"),
        lambda: SimpleUploadedFile(
            "fake.png", b"\x89PNG\r\n\x1a\nbroken", content_type="image/png"
        ),
        lambda: SimpleUploadedFile("empty.png", b"", content_type="image/png"),
        bmp_upload,
    ],
    ids=["text", "truncated-png", "empty", "bmp"],
)
def test_product_image_upload_refuses_what_is_not_an_allowed_image(db, make_upload):
    product = ProductFactory()
    upload = make_upload()
    before = catalog_snapshot()

    files_before = stored_files(product)
    with pytest.raises(ValidationError) as error:
        services.product_image_upload(product=product, upload=upload)

    assert codes(error.value) == {"image": ["invalid_image"]}
    assert catalog_snapshot() == before
    assert stored_files(product) == files_before


def test_product_image_upload_refuses_a_file_over_the_limit(db, settings):
    product = ProductFactory()
    upload = png_upload("big.png", width=64, height=64)
    settings.PRODUCT_IMAGE_MAX_BYTES = upload.size - 1
    before = catalog_snapshot()

    files_before = stored_files(product)
    with pytest.raises(ValidationError) as error:
        services.product_image_upload(product=product, upload=upload)

    assert codes(error.value) == {"image": ["invalid_image"]}
    assert error.value.messages == [f"The image must be at most {upload.size - 1} bytes."]
    assert catalog_snapshot() == before
    assert stored_files(product) == files_before


@pytest.mark.parametrize(
    ("limit", "words"),
    [(5 * 1024 * 1024, "5 MB"), (1536 * 1024, "1.5 MB"), (2048, "2 KB"), (1000, "1000 bytes")],
)
def test_product_image_upload_states_the_limit_in_words(db, settings, limit, words):
    settings.PRODUCT_IMAGE_MAX_BYTES = limit
    product = ProductFactory()
    upload = SimpleUploadedFile("huge.png", b"x" * (limit + 1), content_type="image/png")
    before = catalog_snapshot()

    files_before = stored_files(product)
    with pytest.raises(ValidationError) as error:
        services.product_image_upload(product=product, upload=upload)

    assert error.value.messages == [f"The image must be at most {words}."]
    assert catalog_snapshot() == before
    assert stored_files(product) == files_before


def test_product_image_upload_accepts_a_file_at_the_limit(db, settings):
    upload = png_upload("exact.png")
    settings.PRODUCT_IMAGE_MAX_BYTES = upload.size

    image = services.product_image_upload(product=ProductFactory(), upload=upload)

    assert ProductImage.objects.get() == image


def test_product_image_upload_refuses_more_than_the_maximum(db, monkeypatch):
    monkeypatch.setattr(services.images, "MAX_IMAGES_PER_PRODUCT", 2)
    product = ProductFactory()
    ProductImageFactory.create_batch(2, product=product)
    before = catalog_snapshot()

    with pytest.raises(ValidationError) as error:
        services.product_image_upload(product=product, upload=png_upload("third.png"))

    assert codes(error.value) == {"image": ["invalid"]}
    assert catalog_snapshot() == before


def test_product_image_delete_removes_the_row_and_the_file(db, django_capture_on_commit_callbacks):
    product = ProductFactory()
    image = services.product_image_upload(product=product, upload=png_upload("gone.png"))
    kept = ProductImageFactory(product=product)
    stored = image.image.name

    with django_capture_on_commit_callbacks(execute=True):
        result = services.product_image_delete(image=image)

    assert result == product
    assert list(product.images.all()) == [kept]
    assert not default_storage.exists(stored)
    assert default_storage.exists(kept.image.name)


# --- Search -------------------------------------------------------------------------------------


def test_search_ignores_blank_text(db):
    ProductFactory.create_batch(2)

    assert Product.objects.search("  ").count() == 2


def test_search_is_case_insensitive(db):
    pan = ProductFactory(name="Cast Iron Pan", description="Sears well.")
    ProductFactory(name="Teapot", description="Brews tea.")

    assert list(Product.objects.search("IRON")) == [pan]


@pytest.mark.postgres
def test_search_on_postgres_stems_and_ranks(db):
    pan = ProductFactory(name="Cast Iron Pan", description="Pans for every pan lover.")
    skillet = ProductFactory(name="Skillet", description="Lighter than a pan.")
    ProductFactory(name="Teapot", description="Brews tea.")

    assert list(Product.objects.search("pans")) == [pan, skillet]
    assert list(Product.objects.search("brewing")) == [Product.objects.get(name="Teapot")]


def test_in_categories_includes_descendants(db):
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    in_root = ProductFactory(category=root)
    in_child = ProductFactory(category=child)
    ProductFactory()

    assert set(Product.objects.in_categories([root.pk])) == {in_root, in_child}
    assert list(Product.objects.in_categories([child.pk])) == [in_child]


# --- services have no stock -------------------------------------------------------------------


def test_stock_update_refuses_a_service_and_changes_nothing(db):
    from tests.catalog.factories import service_variant

    cut = service_variant()

    with pytest.raises(ValidationError) as raised:
        services.stock_update(variant=cut, quantity=5, reason="Count")

    assert raised.value.code == "invalid"
    cut.refresh_from_db()
    assert cut.stock_quantity == 0
    assert not StockMovement.objects.exists()


def test_product_create_makes_a_service_whose_variants_have_no_stock(db):
    from strawberry.relay import GlobalID

    from apps.bookings.models import ServiceSettings
    from tests.bookings.factories import ResourceFactory

    category, stylist = CategoryFactory(), ResourceFactory()

    product = services.product_create(
        name="Haircut",
        category=category,
        kind=ProductKind.SERVICE,
        variants=[{"sku": "CUT-45", "price": "45.00", "duration_minutes": 45}],
        sections={
            "service": {
                "buffer_after_minutes": 15,
                "resource_ids": [GlobalID("Resource", str(stylist.pk))],
            }
        },
    )

    assert product.kind == ProductKind.SERVICE
    assert list(product.variants.values_list("sku", "stock_quantity", "duration_minutes")) == [
        ("CUT-45", 0, 45)
    ]
    assert not StockMovement.objects.exists()
    settings = ServiceSettings.objects.get(product=product)
    assert (settings.buffer_after_minutes, list(settings.resources.all())) == (15, [stylist])


def test_product_create_refuses_stock_on_a_service_and_creates_nothing(db):
    category = CategoryFactory()

    with pytest.raises(ValidationError) as raised:
        services.product_create(
            name="Haircut",
            category=category,
            kind=ProductKind.SERVICE,
            variants=[
                {"sku": "CUT-45", "price": "45.00", "stock_quantity": 3, "duration_minutes": 45}
            ],
            sections={"service": {}},
        )

    assert {f: [e.code for e in errors] for f, errors in raised.value.error_dict.items()} == {
        "variants.0.stockQuantity": ["invalid"]
    }
    assert not Product.objects.exists()
