import json
import re
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.catalog.models import Category, Product, ProductImage, ProductVariant, StockMovement
from apps.catalog.mutations import CatalogMutation
from schema.schema import schema
from tests.accounts.factories import UserFactory
from tests.catalog.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    ProductVariantFactory,
    catalog_snapshot,
    global_id,
    png_bytes,
    png_upload,
)
from tests.conftest import GRAPHQL_URL, GraphQLClient, GraphQLResponse

ERRORS = "... on OperationInfo { messages { kind code field message } }"
PRODUCT = f"""
  __typename
  ... on Product {{
    id name slug description isActive
    category {{ id }}
    variants {{ sku name price {{ amount currency }} quantityAvailable inStock }}
    priceRange {{ start {{ amount }} stop {{ amount }} }}
    inStock
    images {{ id url alt sortOrder width height }}
  }}
  {ERRORS}
"""
VARIANT = f"""
  __typename
  ... on ProductVariant {{
    id sku name isActive price {{ amount currency }} quantityAvailable inStock
    product {{ id priceRange {{ start {{ amount }} stop {{ amount }} }} inStock }}
  }}
  {ERRORS}
"""
CATEGORY = f"""
  __typename
  ... on Category {{ id name slug description parent {{ id }} }}
  {ERRORS}
"""

PRODUCT_CREATE = f"""
mutation($input: ProductCreateInput!) {{ result: productCreate(input: $input) {{ {PRODUCT} }} }}
"""
PRODUCT_UPDATE = f"""
mutation($id: ID!, $input: ProductUpdateInput!) {{
  result: productUpdate(id: $id, input: $input) {{ {PRODUCT} }}
}}
"""
PRODUCT_DELETE = f"mutation($id: ID!) {{ result: productDelete(id: $id) {{ {PRODUCT} }} }}"
VARIANT_CREATE = f"""
mutation($productId: ID!, $input: ProductVariantInput!) {{
  result: productVariantCreate(productId: $productId, input: $input) {{ {VARIANT} }}
}}
"""
VARIANT_UPDATE = f"""
mutation($id: ID!, $input: ProductVariantUpdateInput!) {{
  result: productVariantUpdate(id: $id, input: $input) {{ {VARIANT} }}
}}
"""
VARIANT_DELETE = f"mutation($id: ID!) {{ result: productVariantDelete(id: $id) {{ {VARIANT} }} }}"
IMAGE_UPLOAD = f"""
mutation($productId: ID!, $image: Upload!, $alt: String) {{
  result: productImageUpload(productId: $productId, image: $image, alt: $alt) {{ {PRODUCT} }}
}}
"""
IMAGE_DELETE = f"mutation($id: ID!) {{ result: productImageDelete(id: $id) {{ {PRODUCT} }} }}"
CATEGORY_CREATE = f"""
mutation($input: CategoryInput!) {{ result: categoryCreate(input: $input) {{ {CATEGORY} }} }}
"""
CATEGORY_UPDATE = f"""
mutation($id: ID!, $input: CategoryUpdateInput!) {{
  result: categoryUpdate(id: $id, input: $input) {{ {CATEGORY} }}
}}
"""
CATEGORY_DELETE = f"mutation($id: ID!) {{ result: categoryDelete(id: $id) {{ {CATEGORY} }} }}"
STOCK_UPDATE = f"""
mutation($variantId: ID!, $quantity: Int, $delta: Int, $reason: String!) {{
  result: stockUpdate(variantId: $variantId, quantity: $quantity, delta: $delta, reason: $reason) {{
    {VARIANT}
  }}
}}
"""


def result(response: GraphQLResponse) -> dict:
    return response.data["result"]


def messages(response: GraphQLResponse) -> list[tuple[str, str, str | None]]:
    payload = result(response)
    assert payload["__typename"] == "OperationInfo", payload
    return [(m["kind"], m["code"], m["field"]) for m in payload["messages"]]


def money(amount: str) -> dict:
    return {"amount": amount, "currency": "USD"}


def upload(
    api: GraphQLClient, file: SimpleUploadedFile, variables: dict, query: str = IMAGE_UPLOAD
) -> GraphQLResponse:
    """A GraphQL multipart request (the spec at github.com/jaydenseric/graphql-multipart-request-spec)."""
    operations = {"query": query, "variables": {**variables, "image": None}}
    response = api.client.post(
        GRAPHQL_URL,
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.image"]}),
            "0": file,
        },
    )
    return GraphQLResponse(response.status_code, response.json())


def variant_input(**overrides) -> dict:
    data = {"sku": "PAN-S", "name": "Small", "price": "19.99", "stockQuantity": 4}
    data.update(overrides)
    return data


# --- productCreate ------------------------------------------------------------------------------


def test_product_create(admin_gql, store_admin):
    category = CategoryFactory()

    response = admin_gql(
        PRODUCT_CREATE,
        {
            "input": {
                "name": "Cast Iron Pan",
                "description": "Sears.",
                "categoryId": global_id(category),
                "variants": [
                    variant_input(),
                    variant_input(sku="PAN-L", name="Large", price="29.5", stockQuantity=0),
                ],
            }
        },
    )

    product = Product.objects.get()
    payload = result(response)
    images = payload.pop("images")
    assert payload == {
        "__typename": "Product",
        "id": global_id(product),
        "name": "Cast Iron Pan",
        "slug": "cast-iron-pan",
        "description": "Sears.",
        "isActive": True,
        "category": {"id": global_id(category)},
        "variants": [
            {
                "sku": "PAN-S",
                "name": "Small",
                "price": money("19.99"),
                "quantityAvailable": 4,
                "inStock": True,
            },
            {
                "sku": "PAN-L",
                "name": "Large",
                "price": money("29.50"),
                "quantityAvailable": 0,
                "inStock": False,
            },
        ],
        "priceRange": {"start": {"amount": "19.99"}, "stop": {"amount": "29.50"}},
        "inStock": True,
    }
    assert images == []
    assert list(
        StockMovement.objects.values_list("variant__sku", "delta", "quantity_after", "actor")
    ) == [("PAN-S", 4, 4, store_admin.pk)]


def test_product_create_makes_the_slug_unique_and_keeps_inactive(admin_gql):
    category = CategoryFactory()
    ProductFactory(slug="teapot")

    response = admin_gql(
        PRODUCT_CREATE,
        {
            "input": {
                "name": "Teapot",
                "categoryId": global_id(category),
                "isActive": False,
                "variants": [variant_input()],
            }
        },
    )

    assert result(response)["slug"] == "teapot-2"
    assert result(response)["isActive"] is False
    assert Product.objects.get(slug="teapot-2").is_active is False


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"variants": []}, [("VALIDATION", "required", "variants")]),
        (
            {"variants": [variant_input(sku="USED")]},
            [("VALIDATION", "sku_taken", "variants.0.sku")],
        ),
        (
            {"variants": [variant_input(sku="A"), variant_input(sku="A")]},
            [("VALIDATION", "sku_taken", "variants")],
        ),
        ({"variants": [variant_input(price="0")]}, [("VALIDATION", "invalid", "variants.0.price")]),
        (
            {"variants": [variant_input(price="-1")]},
            [("VALIDATION", "invalid", "variants.0.price")],
        ),
        (
            {"variants": [variant_input(stockQuantity=-1)]},
            [("VALIDATION", "invalid", "variants.0.stockQuantity")],
        ),
        ({"slug": "taken"}, [("VALIDATION", "slug_taken", "slug")]),
        ({"name": ""}, [("VALIDATION", "required", "name")]),
        (
            {"categoryId": "Q2F0ZWdvcnk6OTk5OTk5"},  # Category:999999
            [("VALIDATION", "not_found", "categoryId")],
        ),
        ({"categoryId": "wrong-type"}, [("VALIDATION", "not_found", "categoryId")]),
    ],
    ids=[
        "no-variants",
        "sku-taken",
        "sku-repeated",
        "price-zero",
        "price-negative",
        "stock-negative",
        "slug-taken",
        "name-blank",
        "category-unknown",
        "category-wrong-type",
    ],
)
def test_product_create_refuses_invalid_input(admin_gql, overrides, expected):
    category = CategoryFactory()
    used = ProductVariantFactory(sku="USED", product__slug="taken")
    if overrides.get("categoryId") == "wrong-type":
        overrides = {**overrides, "categoryId": global_id(used.product)}
    before = catalog_snapshot()
    data = {"name": "Teapot", "categoryId": global_id(category), "variants": [variant_input()]}
    data.update(overrides)

    response = admin_gql(PRODUCT_CREATE, {"input": data})

    assert messages(response) == expected
    assert catalog_snapshot() == before


def test_product_create_reports_every_message_in_words(admin_gql):
    response = admin_gql(
        PRODUCT_CREATE,
        {
            "input": {
                "name": "Teapot",
                "categoryId": global_id(CategoryFactory()),
                "variants": [],
            }
        },
    )

    assert result(response)["messages"] == [
        {
            "kind": "VALIDATION",
            "code": "required",
            "field": "variants",
            "message": "A product needs at least one variant.",
        }
    ]


# --- productUpdate and productDelete -------------------------------------------------------------


def test_product_update(admin_gql):
    product = ProductFactory(name="Teapot", slug="teapot", description="Old.")
    ProductVariantFactory(product=product, price=Decimal("8.00"))
    other = CategoryFactory()

    response = admin_gql(
        PRODUCT_UPDATE,
        {
            "id": global_id(product),
            "input": {
                "name": "Big Teapot",
                "slug": "big-teapot",
                "categoryId": global_id(other),
                "isActive": False,
            },
        },
    )

    payload = result(response)
    assert (payload["name"], payload["slug"], payload["description"], payload["isActive"]) == (
        "Big Teapot",
        "big-teapot",
        "Old.",
        False,
    )
    assert payload["category"] == {"id": global_id(other)}
    assert payload["priceRange"] == {"start": {"amount": "8.00"}, "stop": {"amount": "8.00"}}
    product.refresh_from_db()
    assert (product.name, product.slug, product.category, product.is_active) == (
        "Big Teapot",
        "big-teapot",
        other,
        False,
    )


def test_product_update_reaches_inactive_products(admin_gql):
    product = ProductFactory(is_active=False)

    response = admin_gql(PRODUCT_UPDATE, {"id": global_id(product), "input": {"isActive": True}})

    assert result(response)["isActive"] is True
    product.refresh_from_db()
    assert product.is_active is True


@pytest.mark.parametrize(
    ("target", "data", "expected"),
    [
        ("category", {"name": "X"}, [("VALIDATION", "not_found", "id")]),
        ("unknown", {"name": "X"}, [("VALIDATION", "not_found", "id")]),
        ("product", {"categoryId": "product"}, [("VALIDATION", "not_found", "categoryId")]),
        ("product", {"slug": "taken"}, [("VALIDATION", "slug_taken", "slug")]),
        ("product", {"name": " "}, [("VALIDATION", "required", "name")]),
    ],
    ids=["category-id", "unknown-id", "category-wrong-type", "slug-taken", "name-blank"],
)
def test_product_update_refuses_invalid_input(admin_gql, target, data, expected):
    product = ProductVariantFactory().product
    ProductFactory(slug="taken")
    ids = {
        "product": global_id(product),
        "category": global_id(product.category),
        "unknown": "UHJvZHVjdDo5OTk5OTk=",  # Product:999999
    }
    if data.get("categoryId") == "product":
        data = {"categoryId": global_id(product)}
    before = catalog_snapshot()

    response = admin_gql(PRODUCT_UPDATE, {"id": ids[target], "input": data})

    assert messages(response) == expected
    assert catalog_snapshot() == before


def test_product_delete_removes_a_product_nothing_points_at(admin_gql):
    product = ProductFactory()
    ProductVariantFactory.create_batch(2, product=product)
    ProductImageFactory(product=product)
    other = ProductVariantFactory()

    response = admin_gql(PRODUCT_DELETE, {"id": global_id(product)})

    payload = result(response)
    assert (payload["__typename"], payload["id"], payload["name"]) == (
        "Product",
        global_id(product),
        product.name,
    )
    assert list(Product.objects.all()) == [other.product]
    assert list(ProductVariant.objects.all()) == [other]
    assert ProductImage.objects.count() == 0


def test_product_delete_with_an_unknown_id_changes_nothing(admin_gql):
    ProductVariantFactory()
    before = catalog_snapshot()

    response = admin_gql(PRODUCT_DELETE, {"id": "UHJvZHVjdDo5OTk5OTk="})

    assert messages(response) == [("VALIDATION", "not_found", "id")]
    assert catalog_snapshot() == before


# --- Variants -----------------------------------------------------------------------------------


def test_product_variant_create(admin_gql, store_admin):
    product = ProductVariantFactory(price=Decimal("30.00")).product

    response = admin_gql(
        VARIANT_CREATE,
        {"productId": global_id(product), "input": variant_input(sku="NEW", price="12.5")},
    )

    variant = ProductVariant.objects.get(sku="NEW")
    assert result(response) == {
        "__typename": "ProductVariant",
        "id": global_id(variant),
        "sku": "NEW",
        "name": "Small",
        "isActive": True,
        "price": money("12.50"),
        "quantityAvailable": 4,
        "inStock": True,
        "product": {
            "id": global_id(product),
            "priceRange": {"start": {"amount": "12.50"}, "stop": {"amount": "30.00"}},
            "inStock": True,
        },
    }
    assert list(variant.stock_movements.values_list("delta", "actor")) == [(4, store_admin.pk)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (variant_input(sku="USED"), [("VALIDATION", "sku_taken", "sku")]),
        (variant_input(price="0"), [("VALIDATION", "invalid", "price")]),
        (variant_input(price="-1"), [("VALIDATION", "invalid", "price")]),
    ],
)
def test_product_variant_create_refuses_invalid_input(admin_gql, data, expected):
    product = ProductVariantFactory(sku="USED").product
    before = catalog_snapshot()

    response = admin_gql(VARIANT_CREATE, {"productId": global_id(product), "input": data})

    assert messages(response) == expected
    assert catalog_snapshot() == before


def test_product_variant_create_for_a_category_id_is_not_found(admin_gql):
    category = ProductVariantFactory().product.category
    before = catalog_snapshot()

    response = admin_gql(
        VARIANT_CREATE, {"productId": global_id(category), "input": variant_input()}
    )

    assert messages(response) == [("VALIDATION", "not_found", "productId")]
    assert catalog_snapshot() == before


def test_product_variant_update(admin_gql):
    variant = ProductVariantFactory(sku="OLD", name="Small", price=Decimal("5.00"))

    response = admin_gql(
        VARIANT_UPDATE,
        {"id": global_id(variant), "input": {"sku": "NEW", "price": "7", "isActive": False}},
    )

    payload = result(response)
    assert (payload["sku"], payload["name"], payload["price"], payload["isActive"]) == (
        "NEW",
        "Small",
        money("7.00"),
        False,
    )
    # The only variant is now inactive: the product shows no price and no stock.
    assert payload["product"]["priceRange"] == {
        "start": {"amount": "0.00"},
        "stop": {"amount": "0.00"},
    }
    assert payload["product"]["inStock"] is False
    variant.refresh_from_db()
    assert (variant.sku, variant.price, variant.is_active) == ("NEW", Decimal("7.00"), False)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"sku": "USED"}, [("VALIDATION", "sku_taken", "sku")]),
        ({"price": "0"}, [("VALIDATION", "invalid", "price")]),
        ({"price": "-1"}, [("VALIDATION", "invalid", "price")]),
    ],
)
def test_product_variant_update_refuses_invalid_input(admin_gql, data, expected):
    ProductVariantFactory(sku="USED")
    variant = ProductVariantFactory()
    before = catalog_snapshot()

    response = admin_gql(VARIANT_UPDATE, {"id": global_id(variant), "input": data})

    assert messages(response) == expected
    assert catalog_snapshot() == before


def test_product_variant_update_with_a_product_id_is_not_found(admin_gql):
    variant = ProductVariantFactory()
    before = catalog_snapshot()

    response = admin_gql(VARIANT_UPDATE, {"id": global_id(variant.product), "input": {"name": "X"}})

    assert messages(response) == [("VALIDATION", "not_found", "id")]
    assert catalog_snapshot() == before


def test_product_variant_delete(admin_gql):
    product = ProductFactory()
    keep = ProductVariantFactory(product=product)
    drop = ProductVariantFactory(product=product)

    response = admin_gql(VARIANT_DELETE, {"id": global_id(drop)})

    assert result(response)["id"] == global_id(drop)
    assert list(ProductVariant.objects.all()) == [keep]


def test_product_variant_delete_refuses_the_last_variant(admin_gql):
    variant = ProductVariantFactory()
    before = catalog_snapshot()

    response = admin_gql(VARIANT_DELETE, {"id": global_id(variant)})

    assert messages(response) == [("VALIDATION", "last_variant", None)]
    assert catalog_snapshot() == before


# --- Categories ---------------------------------------------------------------------------------


def test_category_create(admin_gql):
    parent = CategoryFactory()

    response = admin_gql(
        CATEGORY_CREATE,
        {"input": {"name": "Kitchen", "description": "Pots.", "parentId": global_id(parent)}},
    )
    again = admin_gql(CATEGORY_CREATE, {"input": {"name": "Kitchen"}})

    created = Category.objects.get(slug="kitchen")
    assert result(response) == {
        "__typename": "Category",
        "id": global_id(created),
        "name": "Kitchen",
        "slug": "kitchen",
        "description": "Pots.",
        "parent": {"id": global_id(parent)},
    }
    assert (result(again)["slug"], result(again)["parent"]) == ("kitchen-2", None)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": ""}, [("VALIDATION", "required", "name")]),
        ({"name": "X", "slug": "taken"}, [("VALIDATION", "slug_taken", "slug")]),
        (
            {"name": "X", "parentId": "Q2F0ZWdvcnk6OTk5OTk5"},
            [("VALIDATION", "not_found", "parentId")],
        ),
    ],
    ids=["name-blank", "slug-taken", "parent-unknown"],
)
def test_category_create_refuses_invalid_input(admin_gql, data, expected):
    CategoryFactory(slug="taken")
    before = catalog_snapshot()

    response = admin_gql(CATEGORY_CREATE, {"input": data})

    assert messages(response) == expected
    assert catalog_snapshot() == before


def test_category_update(admin_gql):
    root = CategoryFactory()
    other = CategoryFactory()
    category = CategoryFactory(parent=root, slug="kitchen")

    moved = admin_gql(
        CATEGORY_UPDATE,
        {"id": global_id(category), "input": {"name": "Cooking", "parentId": global_id(other)}},
    )
    to_top = admin_gql(CATEGORY_UPDATE, {"id": global_id(category), "input": {"parentId": None}})
    kept = admin_gql(CATEGORY_UPDATE, {"id": global_id(category), "input": {"slug": "cooking"}})

    assert (result(moved)["name"], result(moved)["parent"]) == (
        "Cooking",
        {"id": global_id(other)},
    )
    assert result(to_top)["parent"] is None
    assert (result(kept)["slug"], result(kept)["parent"]) == ("cooking", None)
    category.refresh_from_db()
    assert (category.name, category.slug, category.parent) == ("Cooking", "cooking", None)


@pytest.mark.parametrize("target", ["itself", "child", "grandchild"])
def test_category_update_refuses_a_move_below_itself(admin_gql, target):
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    parent = {"itself": root, "child": child, "grandchild": grandchild}[target]
    before = catalog_snapshot()

    response = admin_gql(
        CATEGORY_UPDATE, {"id": global_id(root), "input": {"parentId": global_id(parent)}}
    )

    assert messages(response) == [("VALIDATION", "invalid", "parentId")]
    assert catalog_snapshot() == before


def test_category_delete(admin_gql):
    category = CategoryFactory()
    kept = CategoryFactory()

    response = admin_gql(CATEGORY_DELETE, {"id": global_id(category)})

    assert result(response)["id"] == global_id(category)
    assert list(Category.objects.all()) == [kept]


@pytest.mark.parametrize("content", ["product", "inactive-product", "child"])
def test_category_delete_refuses_a_category_that_is_not_empty(admin_gql, content):
    category = CategoryFactory()
    if content == "child":
        CategoryFactory(parent=category)
    else:
        ProductVariantFactory(product__category=category, product__is_active=content == "product")
    before = catalog_snapshot()

    response = admin_gql(CATEGORY_DELETE, {"id": global_id(category)})

    assert messages(response) == [("VALIDATION", "category_not_empty", None)]
    assert catalog_snapshot() == before


# --- stockUpdate --------------------------------------------------------------------------------


def test_stock_update_sets_and_changes_stock_with_movements(admin_gql, store_admin):
    variant = ProductVariantFactory(stock_quantity=10)

    set_to = admin_gql(
        STOCK_UPDATE, {"variantId": global_id(variant), "quantity": 4, "reason": "Stocktake"}
    )
    added = admin_gql(
        STOCK_UPDATE, {"variantId": global_id(variant), "delta": 6, "reason": "Delivery"}
    )
    removed = admin_gql(
        STOCK_UPDATE, {"variantId": global_id(variant), "delta": -10, "reason": "Damaged"}
    )

    assert result(set_to)["quantityAvailable"] == 4
    assert result(added)["quantityAvailable"] == 10
    assert (result(removed)["quantityAvailable"], result(removed)["inStock"]) == (0, False)
    assert result(removed)["product"]["inStock"] is False
    variant.refresh_from_db()
    assert variant.stock_quantity == 0
    assert list(
        StockMovement.objects.order_by("id").values_list(
            "variant", "kind", "delta", "quantity_after", "reason", "actor"
        )
    ) == [
        (variant.pk, "set", -6, 4, "Stocktake", store_admin.pk),
        (variant.pk, "delta", 6, 10, "Delivery", store_admin.pk),
        (variant.pk, "delta", -10, 0, "Damaged", store_admin.pk),
    ]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"delta": -11, "reason": "Oops"}, [("VALIDATION", "insufficient_stock", "delta")]),
        ({"reason": "Nothing"}, [("VALIDATION", "invalid", None)]),
        ({"quantity": 1, "delta": 1, "reason": "Both"}, [("VALIDATION", "invalid", None)]),
        ({"quantity": 1, "reason": "  "}, [("VALIDATION", "required", "reason")]),
        ({"quantity": -1, "reason": "Oops"}, [("VALIDATION", "invalid", "quantity")]),
    ],
    ids=["below-zero", "neither", "both", "blank-reason", "negative-quantity"],
)
def test_stock_update_refuses_invalid_changes(admin_gql, arguments, expected):
    variant = ProductVariantFactory(stock_quantity=10)
    before = catalog_snapshot()

    response = admin_gql(STOCK_UPDATE, {"variantId": global_id(variant), **arguments})

    assert messages(response) == expected
    assert catalog_snapshot() == before


def test_stock_update_of_an_unknown_variant_is_not_found(admin_gql):
    variant = ProductVariantFactory()
    before = catalog_snapshot()

    response = admin_gql(
        STOCK_UPDATE, {"variantId": global_id(variant.product), "delta": 1, "reason": "X"}
    )

    assert messages(response) == [("VALIDATION", "not_found", "variantId")]
    assert catalog_snapshot() == before


# --- Images -------------------------------------------------------------------------------------


def test_product_image_upload_stores_the_image(admin_gql):
    product = ProductVariantFactory().product

    response = upload(
        admin_gql,
        png_upload("front.png", width=5, height=2),
        {"productId": global_id(product), "alt": "Front"},
    )

    image = ProductImage.objects.get()
    assert result(response)["images"] == [
        {
            "id": global_id(image),
            "url": f"http://testserver/media/{image.image.name}",
            "alt": "Front",
            "sortOrder": 0,
            "width": 5,
            "height": 2,
        }
    ]
    assert result(response)["priceRange"] == {
        "start": {"amount": "19.99"},
        "stop": {"amount": "19.99"},
    }
    assert re.fullmatch(rf"products/{product.pk}/[0-9a-f]{{32}}\.png", image.image.name)
    with default_storage.open(image.image.name) as stored:
        assert stored.read() == png_bytes(width=5, height=2)


@pytest.mark.parametrize("kind", ["text", "too-large"])
def test_product_image_upload_refuses_a_bad_file(admin_gql, settings, kind):
    product = ProductVariantFactory().product
    if kind == "text":
        file = SimpleUploadedFile("notes.txt", b"just text", content_type="text/plain")
    else:
        file = png_upload("big.png", width=32, height=32)
        settings.PRODUCT_IMAGE_MAX_BYTES = file.size - 1
    before = catalog_snapshot()

    response = upload(admin_gql, file, {"productId": global_id(product)})

    assert messages(response) == [("VALIDATION", "invalid_image", "image")]
    assert catalog_snapshot() == before
    assert not default_storage.exists(f"products/{product.pk}/{file.name}")


def test_product_image_upload_to_an_unknown_product_is_not_found(admin_gql):
    category = CategoryFactory()
    before = catalog_snapshot()

    response = upload(admin_gql, png_upload(), {"productId": global_id(category)})

    assert messages(response) == [("VALIDATION", "not_found", "productId")]
    assert catalog_snapshot() == before


def test_product_image_delete(admin_gql, django_capture_on_commit_callbacks):
    product = ProductFactory()
    image = ProductImageFactory(product=product)
    kept = ProductImageFactory(product=product)
    stored = image.image.name

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_gql(IMAGE_DELETE, {"id": global_id(image)})

    assert [i["id"] for i in result(response)["images"]] == [global_id(kept)]
    assert list(ProductImage.objects.all()) == [kept]
    assert not default_storage.exists(stored)


# --- Ids ----------------------------------------------------------------------------------------

MALFORMED = [
    (PRODUCT_DELETE, {"id": "not-base64!!"}),
    (PRODUCT_UPDATE, {"id": "not-base64!!", "input": {"name": "X"}}),
    (STOCK_UPDATE, {"variantId": "not-base64!!", "delta": 1, "reason": "X"}),
    (CATEGORY_DELETE, {"id": "not-base64!!"}),
]


@pytest.mark.parametrize(("query", "variables"), MALFORMED)
def test_a_malformed_global_id_is_a_top_level_error(admin_gql, query, variables):
    ProductVariantFactory()
    before = catalog_snapshot()

    response = admin_gql(query, variables)

    assert response.body["data"] is None
    assert [e["message"] for e in response.errors] == [
        'Value cannot represent a GlobalID: "not-base64!!".'
    ]
    assert catalog_snapshot() == before


def test_a_product_id_of_the_wrong_type_is_not_found(admin_gql):
    product = ProductVariantFactory().product
    before = catalog_snapshot()

    response = admin_gql(PRODUCT_DELETE, {"id": global_id(product.category)})

    assert messages(response) == [("VALIDATION", "not_found", "id")]
    assert catalog_snapshot() == before


# --- Permissions --------------------------------------------------------------------------------


def make_shop() -> dict:
    category = CategoryFactory(slug="cat")
    empty = CategoryFactory(slug="empty")
    product = ProductFactory(category=category, slug="prod")
    first = ProductVariantFactory(product=product, sku="V-1", stock_quantity=5)
    second = ProductVariantFactory(product=product, sku="V-2")
    image = ProductImageFactory(product=product)
    return {
        "category": category,
        "empty": empty,
        "product": product,
        "variant": first,
        "second": second,
        "image": image,
    }


# Each call is valid: a Store admin would succeed (see test_store_admin_may_call_every_mutation).
ADMIN_CALLS = {
    "productCreate": (
        PRODUCT_CREATE,
        lambda s: {
            "input": {
                "name": "New",
                "categoryId": global_id(s["category"]),
                "variants": [variant_input(sku="NEW")],
            }
        },
    ),
    "productUpdate": (
        PRODUCT_UPDATE,
        lambda s: {"id": global_id(s["product"]), "input": {"name": "Renamed"}},
    ),
    "productDelete": (PRODUCT_DELETE, lambda s: {"id": global_id(s["product"])}),
    "productVariantCreate": (
        VARIANT_CREATE,
        lambda s: {"productId": global_id(s["product"]), "input": variant_input(sku="NEW")},
    ),
    "productVariantUpdate": (
        VARIANT_UPDATE,
        lambda s: {"id": global_id(s["variant"]), "input": {"price": "1.00"}},
    ),
    "productVariantDelete": (VARIANT_DELETE, lambda s: {"id": global_id(s["variant"])}),
    "productImageUpload": (IMAGE_UPLOAD, lambda s: {"productId": global_id(s["product"])}),
    "productImageDelete": (IMAGE_DELETE, lambda s: {"id": global_id(s["image"])}),
    "categoryCreate": (CATEGORY_CREATE, lambda s: {"input": {"name": "New"}}),
    "categoryUpdate": (
        CATEGORY_UPDATE,
        lambda s: {"id": global_id(s["category"]), "input": {"name": "Renamed"}},
    ),
    "categoryDelete": (CATEGORY_DELETE, lambda s: {"id": global_id(s["empty"])}),
    "stockUpdate": (
        STOCK_UPDATE,
        lambda s: {"variantId": global_id(s["variant"]), "delta": 1, "reason": "Count"},
    ),
}


def call(api: GraphQLClient, name: str, shop: dict) -> GraphQLResponse:
    query, variables = ADMIN_CALLS[name]
    if name == "productImageUpload":
        return upload(api, png_upload("perm.png"), variables(shop))
    return api(query, variables(shop))


@pytest.fixture
def staff_without_permissions(db) -> GraphQLClient:
    return GraphQLClient().login(UserFactory(is_staff=True))


@pytest.mark.parametrize("client", ["gql", "customer_gql", "staff_without_permissions"])
@pytest.mark.parametrize("name", sorted(ADMIN_CALLS))
def test_admin_mutations_are_refused_without_permission(db, request, client, name):
    shop = make_shop()
    api = request.getfixturevalue(client)
    before = catalog_snapshot()

    response = call(api, name, shop)

    assert result(response) == {
        "__typename": "OperationInfo",
        "messages": [
            {
                "kind": "PERMISSION",
                "code": "permission_denied",
                "field": None,
                "message": "You do not have permission to do this.",
            }
        ],
    }
    assert catalog_snapshot() == before
    assert not default_storage.exists(f"products/{shop['product'].pk}/perm.png")


CHANGED = "<changed>"  # a timestamp the write set: its value is the clock's


class Matching(str):
    """Equal to the strings that match it (a stored file's generated name)."""

    def __eq__(self, other):
        return isinstance(other, str) and re.fullmatch(str(self), other) is not None

    __hash__ = str.__hash__


def snapshot_change(before: dict, after: dict) -> dict:
    """What a write did to the catalog (two ``catalog_snapshot``s): per model, the rows it
    added (without their key; timestamps as CHANGED), the keys of the rows it deleted, and the
    new value of each column it changed (timestamps as CHANGED)."""

    def shown(column: str, value):
        return CHANGED if column.endswith("_at") and value is not None else value

    change = {}
    for model, rows_after in after.items():
        old = {row["id"]: row for row in before[model]}
        new = {row["id"]: row for row in rows_after}
        added = [
            {column: shown(column, value) for column, value in row.items() if column != "id"}
            for pk, row in new.items()
            if pk not in old
        ]
        deleted = sorted(pk for pk in old if pk not in new)
        changed = {
            pk: {
                column: shown(column, value)
                for column, value in row.items()
                if old[pk][column] != value
            }
            for pk, row in new.items()
            if pk in old and row != old[pk]
        }
        found = {"added": added, "deleted": deleted, "changed": changed}
        if any(found.values()):
            change[model] = {key: value for key, value in found.items() if value}
    return change


def _new_variant_rows(product_pk: int, actor_pk: int) -> dict:
    """The rows ``variant_input(sku="NEW")`` adds to ``product_pk``: the variant, its stock."""
    variant = ProductVariant.objects.get(sku="NEW")
    return {
        "ProductVariant": {
            "added": [
                {
                    "created_at": CHANGED,
                    "updated_at": CHANGED,
                    "product_id": product_pk,
                    "sku": "NEW",
                    "name": "Small",
                    "price": Decimal("19.99"),
                    "stock_quantity": 4,
                    "is_active": True,
                    "duration_minutes": None,
                }
            ]
        },
        "StockMovement": {
            "added": [
                {
                    "variant_id": variant.pk,
                    "kind": "set",
                    "delta": 4,
                    "quantity_after": 4,
                    "reason": "Initial stock",
                    "actor_id": actor_pk,
                    "created_at": CHANGED,
                }
            ]
        },
    }


def _renamed(pk: int) -> dict:
    return {"changed": {pk: {"updated_at": CHANGED, "name": "Renamed"}}}


# What each call of ADMIN_CALLS changes in the catalog, given the shop and the admin who calls
# (evaluated after the call, which gives the new rows their keys).
ADMIN_CHANGES = {
    "productCreate": lambda s: {
        "Product": {
            "added": [
                {
                    "created_at": CHANGED,
                    "updated_at": CHANGED,
                    "category_id": s["category"].pk,
                    "kind": "GOODS",
                    "name": "New",
                    "slug": "new",
                    "description": "",
                    "is_active": True,
                    "archived_at": None,
                }
            ]
        },
        **_new_variant_rows(Product.objects.get(slug="new").pk, s["admin"].pk),
    },
    "productUpdate": lambda s: {"Product": _renamed(s["product"].pk)},
    "productDelete": lambda s: {  # no order holds it: deleted, with its variants and images
        "Product": {"deleted": [s["product"].pk]},
        "ProductVariant": {"deleted": sorted([s["variant"].pk, s["second"].pk])},
        "ProductImage": {"deleted": [s["image"].pk]},
    },
    "productVariantCreate": lambda s: _new_variant_rows(s["product"].pk, s["admin"].pk),
    "productVariantUpdate": lambda s: {
        "ProductVariant": {
            "changed": {s["variant"].pk: {"updated_at": CHANGED, "price": Decimal("1.00")}}
        }
    },
    "productVariantDelete": lambda s: {"ProductVariant": {"deleted": [s["variant"].pk]}},
    "productImageUpload": lambda s: {
        "ProductImage": {
            "added": [
                {
                    "created_at": CHANGED,
                    "updated_at": CHANGED,
                    "product_id": s["product"].pk,
                    "image": Matching(rf"products/{s['product'].pk}/[^/]+\.png"),
                    "width": 4,
                    "height": 3,
                    "alt": "",
                    "sort_order": 1,
                }
            ]
        }
    },
    "productImageDelete": lambda s: {"ProductImage": {"deleted": [s["image"].pk]}},
    "categoryCreate": lambda s: {
        "Category": {
            "added": [
                {
                    "created_at": CHANGED,
                    "updated_at": CHANGED,
                    "name": "New",
                    "slug": "new",
                    "description": "",
                    "parent_id": None,
                }
            ]
        }
    },
    "categoryUpdate": lambda s: {"Category": _renamed(s["category"].pk)},
    "categoryDelete": lambda s: {"Category": {"deleted": [s["empty"].pk]}},
    "stockUpdate": lambda s: {
        "ProductVariant": {
            "changed": {s["variant"].pk: {"updated_at": CHANGED, "stock_quantity": 6}}
        },
        "StockMovement": {
            "added": [
                {
                    "variant_id": s["variant"].pk,
                    "kind": "delta",
                    "delta": 1,
                    "quantity_after": 6,
                    "reason": "Count",
                    "actor_id": s["admin"].pk,
                    "created_at": CHANGED,
                }
            ]
        },
    },
}


@pytest.mark.parametrize("name", sorted(ADMIN_CALLS))
def test_store_admin_may_call_every_mutation(admin_gql, store_admin, name):
    shop = make_shop()
    before = catalog_snapshot()

    response = call(admin_gql, name, shop)

    assert result(response)["__typename"] != "OperationInfo", result(response)
    expected = ADMIN_CHANGES[name](shop | {"admin": store_admin})
    assert snapshot_change(before, catalog_snapshot()) == expected


def test_the_permission_tests_cover_every_catalog_mutation():
    converter = schema.config.name_converter
    catalog_mutations = {
        converter.get_graphql_name(field)
        for field in CatalogMutation.__strawberry_definition__.fields
    }

    assert len(catalog_mutations) == 12
    assert set(ADMIN_CALLS) == catalog_mutations


def test_an_image_sent_as_a_string_is_refused(admin_gql):
    from apps.catalog.models import ProductImage

    product = ProductFactory()
    result = admin_gql(
        'mutation ($id: ID!) { productImageUpload(productId: $id, image: "x") '
        "{ ... on OperationInfo { messages { code field } } } }",
        {"id": global_id(product)},
    )
    assert result.data["productImageUpload"]["messages"] == [
        {"code": "invalid_image", "field": "image"}
    ]
    assert ProductImage.objects.count() == 0
