import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from strawberry.relay import to_base64

from apps.catalog.models import Product
from tests.catalog.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    ProductVariantFactory,
    global_id,
)

PRODUCT_NAMES = """
query Products($filters: ProductFilter, $ordering: [ProductOrder!]! = [], $first: Int) {
  products(filters: $filters, ordering: $ordering, first: $first) {
    totalCount
    edges { node { name } }
  }
}
"""

PRODUCT_DETAIL_FIELDS = """
  id name slug isActive
  category { id slug }
  variants { id sku price { amount currency } quantityAvailable inStock }
  priceRange { start { amount currency } stop { amount currency } }
  inStock
  images { url alt sortOrder }
"""

PRODUCT_BY_SLUG = f"query($slug: String!) {{ product(slug: $slug) {{ {PRODUCT_DETAIL_FIELDS} }} }}"
PRODUCT_BY_ID = f"query($id: ID!) {{ product(id: $id) {{ {PRODUCT_DETAIL_FIELDS} }} }}"

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Product { name }
    ... on Category { name }
    ... on ProductVariant { sku }
  }
}
"""


def names(response) -> list[str]:
    return [edge["node"]["name"] for edge in response.data["products"]["edges"]]


def money(amount: str) -> dict:
    return {"amount": amount, "currency": "USD"}


def make_catalog() -> dict:
    """A small shop: Home > Kitchen > Cookware, and Clothing; products with mixed variants."""
    home = CategoryFactory(name="Home", slug="home")
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen", parent=home)
    cookware = CategoryFactory(name="Cookware", slug="cookware", parent=kitchen)
    clothing = CategoryFactory(name="Clothing", slug="clothing")

    pan = ProductFactory(
        name="Cast Iron Pan",
        slug="cast-iron-pan",
        category=cookware,
        description="Heavy skillet that sears steaks.",
    )
    ProductVariantFactory(product=pan, sku="PAN-1", price=Decimal("24.00"), stock_quantity=5)

    teapot = ProductFactory(
        name="Teapot", slug="teapot", category=kitchen, description="Brews loose-leaf tea."
    )
    ProductVariantFactory(product=teapot, sku="TEA-1", price=Decimal("15.00"), stock_quantity=0)

    lamp = ProductFactory(
        name="Table Lamp", slug="table-lamp", category=home, description="Warm reading light."
    )
    ProductVariantFactory(product=lamp, sku="LAMP-S", price=Decimal("40.00"), stock_quantity=0)
    ProductVariantFactory(product=lamp, sku="LAMP-L", price=Decimal("60.00"), stock_quantity=3)

    shirt = ProductFactory(
        name="Linen Shirt", slug="linen-shirt", category=clothing, description="Breezy summer top."
    )
    ProductVariantFactory(product=shirt, sku="SHIRT-M", price=Decimal("30.00"), stock_quantity=2)
    ProductVariantFactory(
        product=shirt, sku="SHIRT-OLD", price=Decimal("12.00"), stock_quantity=50, is_active=False
    )

    scarf = ProductFactory(
        name="Wool Scarf", slug="wool-scarf", category=clothing, description="Soft winter wrap."
    )
    ProductVariantFactory(product=scarf, sku="SCARF-1", price=Decimal("25.00"), stock_quantity=0)
    ProductVariantFactory(
        product=scarf, sku="SCARF-OLD", price=Decimal("9.00"), stock_quantity=9, is_active=False
    )

    kettle = ProductFactory(
        name="Hidden Kettle",
        slug="hidden-kettle",
        category=kitchen,
        description="Not for sale yet.",
        is_active=False,
    )
    ProductVariantFactory(product=kettle, sku="KETTLE-1", price=Decimal("20.00"), stock_quantity=7)

    # Creation order, oldest first: pan, teapot, lamp, shirt, scarf, kettle.
    start = timezone.now() - datetime.timedelta(days=10)
    for days, product in enumerate([pan, teapot, lamp, shirt, scarf, kettle]):
        Product.objects.filter(pk=product.pk).update(
            created_at=start + datetime.timedelta(days=days)
        )
    return {
        "home": home,
        "kitchen": kitchen,
        "cookware": cookware,
        "clothing": clothing,
        "pan": pan,
        "teapot": teapot,
        "lamp": lamp,
        "shirt": shirt,
        "scarf": scarf,
        "kettle": kettle,
    }


# --- Pagination ---------------------------------------------------------------------------------


def test_products_default_page_is_twenty_newest_first(gql):
    products = ProductFactory.create_batch(25)
    for product in products:
        ProductVariantFactory(product=product)

    response = gql(
        "{ products { totalCount pageInfo { hasNextPage hasPreviousPage }"
        " edges { node { name } } } }"
    )

    connection = response.data["products"]
    assert connection["totalCount"] == 25
    assert connection["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}
    assert names(response) == [p.name for p in reversed(products)][:20]


def test_products_first_and_after_walk_the_pages(gql):
    products = ProductFactory.create_batch(7)
    newest_first = [p.name for p in reversed(products)]
    query = """
    query($after: String) {
      products(first: 3, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node { name } }
      }
    }
    """

    pages, after = [], None
    while True:
        connection = gql(query, {"after": after}).data["products"]
        assert connection["totalCount"] == 7
        pages.append([edge["node"]["name"] for edge in connection["edges"]])
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]

    assert pages == [newest_first[0:3], newest_first[3:6], newest_first[6:7]]


@pytest.mark.parametrize("first", [1000, 101, -1])
def test_products_page_size_out_of_bounds_is_a_top_level_error(gql, first):
    ProductFactory()

    response = gql(
        "query($first: Int) { products(first: $first) { totalCount } }", {"first": first}
    )

    assert response.status_code == 200
    assert response.body["data"] is None
    assert response.errors == [
        {
            "message": "Argument 'first' must be between 0 and 100.",
            "locations": [{"line": 1, "column": 22}],
            "path": ["products"],
            "extensions": {"code": "invalid"},
        }
    ]


def test_products_page_size_at_the_bound_is_accepted(gql):
    ProductFactory.create_batch(3)

    response = gql("{ products(first: 100) { totalCount edges { node { name } } } }")

    assert response.data["products"]["totalCount"] == 3
    assert len(response.data["products"]["edges"]) == 3


# --- Filters ------------------------------------------------------------------------------------


def test_search_matches_name_and_description(gql):
    make_catalog()

    by_name = gql(PRODUCT_NAMES, {"filters": {"search": "iron"}})
    by_description = gql(PRODUCT_NAMES, {"filters": {"search": "BREWS"}})
    blank = gql(PRODUCT_NAMES, {"filters": {"search": "  "}})

    assert names(by_name) == ["Cast Iron Pan"]
    assert names(by_description) == ["Teapot"]
    assert blank.data["products"]["totalCount"] == 5


def test_search_never_finds_inactive_products_for_anonymous(gql):
    make_catalog()

    response = gql(PRODUCT_NAMES, {"filters": {"search": "kettle"}})

    assert response.data["products"] == {"totalCount": 0, "edges": []}


@pytest.mark.postgres
def test_search_full_text_stems_words(gql):
    make_catalog()

    pans = gql(PRODUCT_NAMES, {"filters": {"search": "pans"}})
    brewing = gql(PRODUCT_NAMES, {"filters": {"search": "brewing"}})
    steak = gql(PRODUCT_NAMES, {"filters": {"search": "steak skillets"}})

    assert names(pans) == ["Cast Iron Pan"]
    assert names(brewing) == ["Teapot"]
    assert names(steak) == ["Cast Iron Pan"]


@pytest.mark.postgres
def test_search_full_text_ranks_best_match_first(gql):
    category = CategoryFactory()
    strong = ProductFactory(
        name="Table Lamp", category=category, description="A lamp for reading; the lamp dims."
    )
    weak = ProductFactory(name="Desk", category=category, description="Pairs well with a lamp.")
    ProductFactory(name="Chair", category=category, description="Sturdy oak.")
    # The weak match is newer, so only the ranking puts the strong one first.
    assert list(Product.objects.filter(pk__in=[strong.pk, weak.pk])) == [weak, strong]

    response = gql(PRODUCT_NAMES, {"filters": {"search": "lamp"}})

    assert names(response) == ["Table Lamp", "Desk"]
    assert response.data["products"]["totalCount"] == 2


@pytest.mark.postgres
def test_search_full_text_accepts_web_search_syntax(gql):
    make_catalog()

    either = gql(PRODUCT_NAMES, {"filters": {"search": "tea or iron"}})
    excluded = gql(PRODUCT_NAMES, {"filters": {"search": "pan -steaks"}})
    punctuation = gql(PRODUCT_NAMES, {"filters": {"search": "&|!:*()"}})

    assert sorted(names(either)) == ["Cast Iron Pan", "Teapot"]
    assert excluded.data["products"] == {"totalCount": 0, "edges": []}
    assert punctuation.data["products"] == {"totalCount": 0, "edges": []}


def test_category_id_filter_includes_descendants(gql):
    shop = make_catalog()

    home = gql(PRODUCT_NAMES, {"filters": {"categoryId": global_id(shop["home"])}})
    kitchen = gql(PRODUCT_NAMES, {"filters": {"categoryId": global_id(shop["kitchen"])}})
    cookware = gql(PRODUCT_NAMES, {"filters": {"categoryId": global_id(shop["cookware"])}})

    assert names(home) == ["Table Lamp", "Teapot", "Cast Iron Pan"]
    assert names(kitchen) == ["Teapot", "Cast Iron Pan"]
    assert names(cookware) == ["Cast Iron Pan"]


def test_category_slug_filter_includes_descendants(gql):
    make_catalog()

    home = gql(PRODUCT_NAMES, {"filters": {"categorySlug": "home"}})
    clothing = gql(PRODUCT_NAMES, {"filters": {"categorySlug": "clothing"}})
    unknown = gql(PRODUCT_NAMES, {"filters": {"categorySlug": "garden"}})

    assert names(home) == ["Table Lamp", "Teapot", "Cast Iron Pan"]
    assert names(clothing) == ["Wool Scarf", "Linen Shirt"]
    assert unknown.data["products"] == {"totalCount": 0, "edges": []}


def test_category_id_filter_with_an_id_of_another_type_matches_nothing(gql):
    shop = make_catalog()

    response = gql(PRODUCT_NAMES, {"filters": {"categoryId": global_id(shop["pan"])}})

    assert response.data["products"] == {"totalCount": 0, "edges": []}


def test_price_min_and_max_need_one_active_variant_within_the_range(gql):
    make_catalog()

    # Active prices: pan 24, teapot 15, lamp 40 and 60, shirt 30 (12 inactive),
    # scarf 25 (9 inactive).
    def search(**filters):
        return sorted(names(gql(PRODUCT_NAMES, {"filters": filters})))

    assert search(priceMin="25", priceMax="30") == ["Linen Shirt", "Wool Scarf"]
    # The lamp costs 40 and 60: neither lies within 45..55.
    assert search(priceMin="45", priceMax="55") == []
    # Inactive variants do not count: the shirt at 12 and the scarf at 9 are hidden.
    assert search(priceMin="5", priceMax="14") == []
    assert search(priceMin="50") == ["Table Lamp"]
    assert search(priceMax="15") == ["Teapot"]
    assert search(priceMin="24.00", priceMax="24.00") == ["Cast Iron Pan"]


def test_in_stock_filter_looks_at_active_variants_only(gql):
    make_catalog()

    in_stock = gql(PRODUCT_NAMES, {"filters": {"inStock": True}})
    out_of_stock = gql(PRODUCT_NAMES, {"filters": {"inStock": False}})

    assert names(in_stock) == ["Linen Shirt", "Table Lamp", "Cast Iron Pan"]
    # The scarf's only stock is on an inactive variant.
    assert names(out_of_stock) == ["Wool Scarf", "Teapot"]


def test_filters_combine(gql):
    shop = make_catalog()

    response = gql(
        PRODUCT_NAMES,
        {"filters": {"categoryId": global_id(shop["home"]), "inStock": True, "priceMax": "30"}},
    )

    # The teapot is out of stock, the lamp's cheapest variant costs 40.
    assert names(response) == ["Cast Iron Pan"]


# --- Ordering -----------------------------------------------------------------------------------


def test_ordering_by_price_uses_the_lowest_active_price(gql):
    make_catalog()

    ascending = gql(PRODUCT_NAMES, {"ordering": [{"price": "ASC"}]})
    descending = gql(PRODUCT_NAMES, {"ordering": [{"price": "DESC"}]})

    # Lowest active prices: teapot 15, pan 24, scarf 25, shirt 30, lamp 40.
    expected = ["Teapot", "Cast Iron Pan", "Wool Scarf", "Linen Shirt", "Table Lamp"]
    assert names(ascending) == expected
    assert names(descending) == list(reversed(expected))


def test_ordering_by_name(gql):
    make_catalog()

    ascending = gql(PRODUCT_NAMES, {"ordering": [{"name": "ASC"}]})
    descending = gql(PRODUCT_NAMES, {"ordering": [{"name": "DESC"}]})

    expected = ["Cast Iron Pan", "Linen Shirt", "Table Lamp", "Teapot", "Wool Scarf"]
    assert names(ascending) == expected
    assert names(descending) == list(reversed(expected))


def test_ordering_by_created_at(gql):
    make_catalog()

    ascending = gql(PRODUCT_NAMES, {"ordering": [{"createdAt": "ASC"}]})
    descending = gql(PRODUCT_NAMES, {"ordering": [{"createdAt": "DESC"}]})
    default = gql(PRODUCT_NAMES)

    expected = ["Cast Iron Pan", "Teapot", "Table Lamp", "Linen Shirt", "Wool Scarf"]
    assert names(ascending) == expected
    assert names(descending) == list(reversed(expected))
    assert names(default) == list(reversed(expected))


def test_ordering_by_several_keys(gql):
    category = CategoryFactory()
    for name, price in [("B", "5.00"), ("A", "5.00"), ("C", "1.00"), ("D", "5.00")]:
        ProductVariantFactory(product__name=name, product__category=category, price=Decimal(price))

    response = gql(PRODUCT_NAMES, {"ordering": [{"price": "ASC"}, {"name": "DESC"}]})

    assert names(response) == ["C", "D", "B", "A"]


def test_last_and_before_walk_back_from_the_end(gql):
    products = ProductFactory.create_batch(5)  # newest first: 4, 3, 2, 1, 0
    query = """
    query($before: String) {
      products(last: 2, before: $before) {
        pageInfo { hasPreviousPage startCursor }
        edges { node { name } }
      }
    }
    """

    last = gql(query).data["products"]
    before = gql(query, {"before": last["pageInfo"]["startCursor"]}).data["products"]

    assert [e["node"]["name"] for e in last["edges"]] == [products[1].name, products[0].name]
    assert [e["node"]["name"] for e in before["edges"]] == [products[3].name, products[2].name]
    assert before["pageInfo"]["hasPreviousPage"] is True


def test_ordering_with_a_filter_and_pagination(gql):
    make_catalog()
    query = """
    query($after: String) {
      products(first: 2, after: $after, ordering: [{price: DESC}], filters: {inStock: true}) {
        pageInfo { hasNextPage endCursor }
        edges { node { name } }
      }
    }
    """

    first = gql(query).data["products"]
    second = gql(query, {"after": first["pageInfo"]["endCursor"]}).data["products"]

    assert [e["node"]["name"] for e in first["edges"]] == ["Table Lamp", "Linen Shirt"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["name"] for e in second["edges"]] == ["Cast Iron Pan"]
    assert second["pageInfo"]["hasNextPage"] is False


# --- Single objects -----------------------------------------------------------------------------


def test_product_by_slug_and_by_id(gql):
    shop = make_catalog()
    ProductImageFactory(product=shop["lamp"], alt="Lit", sort_order=1)
    ProductImageFactory(product=shop["lamp"], alt="Off", sort_order=0)
    small, large = shop["lamp"].variants.order_by("price")

    by_slug = gql(PRODUCT_BY_SLUG, {"slug": "table-lamp"}).data["product"]
    by_id = gql(PRODUCT_BY_ID, {"id": global_id(shop["lamp"])}).data["product"]

    assert by_slug == by_id
    images = by_slug.pop("images")
    assert by_slug == {
        "id": global_id(shop["lamp"]),
        "name": "Table Lamp",
        "slug": "table-lamp",
        "isActive": True,
        "category": {"id": global_id(shop["home"]), "slug": "home"},
        "variants": [
            {
                "id": global_id(small),
                "sku": "LAMP-S",
                "price": money("40.00"),
                "quantityAvailable": 0,
                "inStock": False,
            },
            {
                "id": global_id(large),
                "sku": "LAMP-L",
                "price": money("60.00"),
                "quantityAvailable": 3,
                "inStock": True,
            },
        ],
        "priceRange": {"start": money("40.00"), "stop": money("60.00")},
        "inStock": True,
    }
    assert [(i["alt"], i["sortOrder"]) for i in images] == [("Off", 0), ("Lit", 1)]
    for image in images:
        assert image["url"].startswith(f"http://testserver/media/products/{shop['lamp'].pk}/")


def test_product_lookup_misses_answer_null(gql):
    shop = make_catalog()

    unknown_slug = gql(PRODUCT_BY_SLUG, {"slug": "no-such-thing"})
    category_id = gql(PRODUCT_BY_ID, {"id": global_id(shop["home"])})

    assert unknown_slug.data == {"product": None}
    assert category_id.data == {"product": None}


@pytest.mark.parametrize(
    "arguments", ["", '(id: "UHJvZHVjdDox", slug: "teapot")'], ids=["neither", "both"]
)
def test_product_lookup_needs_exactly_one_of_id_or_slug(gql, arguments):
    response = gql(f"{{ product{arguments} {{ id }} }}")

    assert response.body["data"] == {"product": None}
    assert [(e["message"], e["extensions"]) for e in response.errors] == [
        ("Give exactly one of id or slug.", {"code": "invalid"})
    ]


def test_product_lookup_with_a_malformed_id_is_a_top_level_error(gql):
    response = gql(PRODUCT_BY_ID, {"id": "not-base64!!"})

    assert response.body["data"] == {"product": None}
    assert [(e["message"], e["path"]) for e in response.errors] == [
        ('Value cannot represent a GlobalID: "not-base64!!".', ["product"])
    ]


def test_category_by_id_and_by_slug(gql):
    shop = make_catalog()
    query = """
    query($id: ID, $slug: String) {
      category(id: $id, slug: $slug) {
        id name slug description
        parent { slug }
        children { slug }
      }
    }
    """

    by_id = gql(query, {"id": global_id(shop["kitchen"])}).data["category"]
    by_slug = gql(query, {"slug": "kitchen"}).data["category"]
    missing = gql(query, {"slug": "garden"}).data["category"]
    wrong_type = gql(query, {"id": global_id(shop["pan"])}).data["category"]

    assert (
        by_id
        == by_slug
        == {
            "id": global_id(shop["kitchen"]),
            "name": "Kitchen",
            "slug": "kitchen",
            "description": "",
            "parent": {"slug": "home"},
            "children": [{"slug": "cookware"}],
        }
    )
    assert missing is None
    assert wrong_type is None


def test_categories_lists_roots_or_the_children_of_a_parent(gql):
    shop = make_catalog()
    query = """
    query($filters: CategoryFilter) {
      categories(filters: $filters) { name children { name } }
    }
    """

    roots = gql(query).data["categories"]
    under_home = gql(query, {"filters": {"parent": global_id(shop["home"])}}).data["categories"]
    under_cookware = gql(query, {"filters": {"parent": global_id(shop["cookware"])}})
    explicit_null = gql(query, {"filters": {"parent": None}}).data["categories"]

    assert roots == [
        {"name": "Clothing", "children": []},
        {"name": "Home", "children": [{"name": "Kitchen"}]},
    ]
    assert under_home == [{"name": "Kitchen", "children": [{"name": "Cookware"}]}]
    assert under_cookware.data["categories"] == []
    assert explicit_null == roots


def test_category_products_include_descendants(gql):
    shop = make_catalog()
    query = """
    query($slug: String!) {
      category(slug: $slug) {
        products(first: 10) { totalCount edges { node { name } } }
      }
    }
    """

    home = gql(query, {"slug": "home"}).data["category"]["products"]
    kitchen = gql(query, {"slug": "kitchen"}).data["category"]["products"]

    assert home == {
        "totalCount": 3,
        "edges": [
            {"node": {"name": "Table Lamp"}},
            {"node": {"name": "Teapot"}},
            {"node": {"name": "Cast Iron Pan"}},
        ],
    }
    # The inactive kettle sits in the kitchen too, but shoppers do not see it.
    assert shop["kettle"].category == shop["kitchen"]
    assert kitchen == {
        "totalCount": 2,
        "edges": [{"node": {"name": "Teapot"}}, {"node": {"name": "Cast Iron Pan"}}],
    }


def test_category_products_take_filters_and_ordering(gql):
    make_catalog()
    query = """
    {
      category(slug: "home") {
        products(filters: {inStock: true}, ordering: [{price: DESC}]) {
          edges { node { name } }
        }
      }
    }
    """

    edges = gql(query).data["category"]["products"]["edges"]

    assert [e["node"]["name"] for e in edges] == ["Table Lamp", "Cast Iron Pan"]


def test_category_products_page_size_is_capped(gql):
    make_catalog()

    response = gql('{ category(slug: "home") { products(first: 1000) { totalCount } } }')

    assert response.body["data"] == {"category": None}
    assert [e["message"] for e in response.errors] == [
        "Argument 'first' must be between 0 and 100."
    ]


# --- node(id:) ----------------------------------------------------------------------------------


def test_node_resolves_products_categories_and_variants(gql):
    shop = make_catalog()
    variant = shop["pan"].variants.get()

    product = gql(NODE, {"id": global_id(shop["pan"])}).data["node"]
    category = gql(NODE, {"id": global_id(shop["kitchen"])}).data["node"]
    variant_node = gql(NODE, {"id": global_id(variant)}).data["node"]

    assert product == {
        "__typename": "Product",
        "id": global_id(shop["pan"]),
        "name": "Cast Iron Pan",
    }
    assert category == {
        "__typename": "Category",
        "id": global_id(shop["kitchen"]),
        "name": "Kitchen",
    }
    assert variant_node == {
        "__typename": "ProductVariant",
        "id": global_id(variant),
        "sku": "PAN-1",
    }


def test_node_with_an_unknown_id_is_null(gql):
    response = gql(NODE, {"id": "UHJvZHVjdDo5OTk5OTk="})  # Product:999999

    assert response.data == {"node": None}


def test_node_with_a_malformed_id_is_a_top_level_error(gql):
    response = gql(NODE, {"id": "not-base64!!"})

    assert response.body["data"] == {"node": None}
    assert [(e["message"], e["path"]) for e in response.errors] == [
        ('Value cannot represent a GlobalID: "not-base64!!".', ["node"])
    ]


# --- Visibility of inactive products and variants -------------------------------------------------


@pytest.mark.parametrize("client", ["gql", "customer_gql"])
def test_inactive_products_are_invisible_to_shoppers(db, request, client):
    shop = make_catalog()
    api = request.getfixturevalue(client)
    hidden_variant = shop["kettle"].variants.get()

    listing = api(PRODUCT_NAMES)
    by_slug = api(PRODUCT_BY_SLUG, {"slug": "hidden-kettle"})
    by_id = api(PRODUCT_BY_ID, {"id": global_id(shop["kettle"])})
    node = api(NODE, {"id": global_id(shop["kettle"])})
    variant_node = api(NODE, {"id": global_id(hidden_variant)})
    in_category = api('{ category(slug: "kitchen") { products { edges { node { name } } } } }')

    assert "Hidden Kettle" not in names(listing)
    assert listing.data["products"]["totalCount"] == 5
    assert by_slug.data == {"product": None}
    assert by_id.data == {"product": None}
    assert node.data == {"node": None}
    assert variant_node.data == {"node": None}
    assert [e["node"]["name"] for e in in_category.data["category"]["products"]["edges"]] == [
        "Teapot",
        "Cast Iron Pan",
    ]


@pytest.mark.parametrize(
    ("client", "visible"), [("gql", False), ("customer_gql", False), ("admin_gql", True)]
)
def test_images_of_inactive_products_are_invisible_to_shoppers(db, request, client, visible):
    shown = ProductImageFactory(product=ProductFactory(), alt="Shown")
    hidden = ProductImageFactory(product=ProductFactory(is_active=False), alt="Hidden")
    api = request.getfixturevalue(client)
    query = "query($id: ID!) { node(id: $id) { ... on ProductImage { alt } } }"

    assert api(query, {"id": global_id(shown)}).data == {"node": {"alt": "Shown"}}
    assert api(query, {"id": global_id(hidden)}).data == {
        "node": {"alt": "Hidden"} if visible else None
    }


@pytest.mark.parametrize("client", ["gql", "customer_gql"])
def test_inactive_variants_are_invisible_to_shoppers(db, request, client):
    shop = make_catalog()
    api = request.getfixturevalue(client)
    old = shop["shirt"].variants.get(sku="SHIRT-OLD")

    product = api(PRODUCT_BY_SLUG, {"slug": "linen-shirt"}).data["product"]
    node = api(NODE, {"id": global_id(old)})

    assert [v["sku"] for v in product["variants"]] == ["SHIRT-M"]
    assert node.data == {"node": None}


def test_staff_see_inactive_products_and_variants(admin_gql):
    shop = make_catalog()
    old = shop["shirt"].variants.get(sku="SHIRT-OLD")

    listing = admin_gql(PRODUCT_NAMES)
    kettle = admin_gql(PRODUCT_BY_SLUG, {"slug": "hidden-kettle"}).data["product"]
    shirt = admin_gql(PRODUCT_BY_SLUG, {"slug": "linen-shirt"}).data["product"]
    node = admin_gql(NODE, {"id": global_id(shop["kettle"])})
    variant_node = admin_gql(NODE, {"id": global_id(old)})

    assert listing.data["products"]["totalCount"] == 6
    assert names(listing)[0] == "Hidden Kettle"
    assert kettle["isActive"] is False
    assert kettle["priceRange"] == {"start": money("20.00"), "stop": money("20.00")}
    assert [v["sku"] for v in shirt["variants"]] == ["SHIRT-OLD", "SHIRT-M"]
    assert node.data["node"]["name"] == "Hidden Kettle"
    assert variant_node.data["node"]["sku"] == "SHIRT-OLD"


@pytest.mark.parametrize("client", ["gql", "admin_gql"])
def test_price_range_and_in_stock_ignore_inactive_variants(db, request, client):
    make_catalog()
    api = request.getfixturevalue(client)

    shirt = api(PRODUCT_BY_SLUG, {"slug": "linen-shirt"}).data["product"]
    scarf = api(PRODUCT_BY_SLUG, {"slug": "wool-scarf"}).data["product"]

    assert shirt["priceRange"] == {"start": money("30.00"), "stop": money("30.00")}
    assert shirt["inStock"] is True
    assert scarf["priceRange"] == {"start": money("25.00"), "stop": money("25.00")}
    assert scarf["inStock"] is False


def test_money_is_a_two_decimal_string_in_usd(gql):
    product = ProductFactory(slug="plain")
    ProductVariantFactory(product=product, price=Decimal("7"))
    ProductVariantFactory(product=product, price=Decimal("1234.5"))

    response = gql(PRODUCT_BY_SLUG, {"slug": "plain"}).data["product"]

    assert [v["price"] for v in response["variants"]] == [money("7.00"), money("1234.50")]
    assert response["priceRange"] == {"start": money("7.00"), "stop": money("1234.50")}


def test_variant_product_link_resolves(gql):
    shop = make_catalog()
    variant = shop["teapot"].variants.get()

    response = gql(
        "query($id: ID!) { node(id: $id) { ... on ProductVariant {"
        " product { name priceRange { start { amount } } inStock } } } }",
        {"id": global_id(variant)},
    )

    assert response.data["node"]["product"] == {
        "name": "Teapot",
        "priceRange": {"start": {"amount": "15.00"}},
        "inStock": False,
    }


# --- Query counts -------------------------------------------------------------------------------

LISTING = """
query($first: Int) {
  products(first: $first) {
    totalCount
    edges {
      node {
        name
        category { name }
        variants { sku price { amount currency } inStock }
        priceRange { start { amount } stop { amount } }
        inStock
        images { url alt }
      }
    }
  }
}
"""

CATEGORY_LISTING = """
query($first: Int) {
  category(slug: "everything") {
    name
    products(first: $first) {
      totalCount
      edges {
        node {
          name
          category { name }
          variants { sku price { amount currency } inStock }
          priceRange { start { amount } stop { amount } }
          inStock
          images { url alt }
        }
      }
    }
  }
}
"""


def make_listing(count: int) -> None:
    root = CategoryFactory(name="Everything", slug="everything")
    children = [CategoryFactory(parent=root) for _ in range(3)]
    for index in range(count):
        product = ProductFactory(category=children[index % 3])
        ProductVariantFactory(product=product, price=Decimal("5.00") + index)
        ProductVariantFactory(product=product, price=Decimal("9.00") + index, stock_quantity=0)
        ProductVariantFactory(product=product, is_active=False)
        ProductImageFactory(product=product)


@pytest.mark.parametrize("client", ["gql", "admin_gql"])
def test_product_listing_runs_three_queries_whatever_the_page_size(
    db, request, client, django_assert_num_queries
):
    make_listing(55)
    api = request.getfixturevalue(client)
    api("{ __typename }")  # a signed-in client loads its session and user once, outside the count
    # staff: the session, the user, and their permissions (which may show inactive rows)
    overhead = 0 if client == "gql" else 4

    # products with their category and annotations, then variants, then images
    with django_assert_num_queries(3 + overhead):
        small = api(LISTING, {"first": 5})
    with django_assert_num_queries(3 + overhead):
        large = api(LISTING, {"first": 50})

    assert len(small.data["products"]["edges"]) == 5
    assert len(large.data["products"]["edges"]) == 50
    assert large.data["products"]["totalCount"] == 55
    node = large.data["products"]["edges"][0]["node"]
    expected_variants = 3 if client == "admin_gql" else 2
    assert len(node["variants"]) == expected_variants
    assert len(node["images"]) == 1


def test_category_product_listing_runs_the_same_queries_whatever_the_page_size(
    gql, django_assert_num_queries
):
    make_listing(55)

    # the category, its descendants, the products, their variants, their images
    with django_assert_num_queries(5):
        small = gql(CATEGORY_LISTING, {"first": 5})
    with django_assert_num_queries(5):
        large = gql(CATEGORY_LISTING, {"first": 50})

    assert len(small.data["category"]["products"]["edges"]) == 5
    assert len(large.data["category"]["products"]["edges"]) == 50
    assert large.data["category"]["products"]["totalCount"] == 55


@pytest.mark.parametrize("key", ["price", "name", "createdAt"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_pages_never_repeat_or_skip_products_that_tie_on_the_order(gql, key, direction):
    category = CategoryFactory(slug="same")
    for _ in range(40):
        product = ProductFactory(category=category, name="Same name")
        ProductVariantFactory(product=product, price=Decimal("5.00"))
    Product.objects.update(created_at=timezone.now())
    query = """
    query($after: String, $ordering: [ProductOrder!]!) {
      products(first: 7, after: $after, ordering: $ordering) {
        pageInfo { hasNextPage endCursor }
        edges { node { id } }
      }
    }
    """
    nested = """
    query($after: String, $ordering: [ProductOrder!]!) {
      category(slug: "same") {
        products(first: 7, after: $after, ordering: $ordering) {
          pageInfo { hasNextPage endCursor }
          edges { node { id } }
        }
      }
    }
    """

    for document, path in ((query, ["products"]), (nested, ["category", "products"])):
        seen, after = [], None
        while True:
            connection = gql(document, {"after": after, "ordering": [{key: direction}]}).data
            for name in path:
                connection = connection[name]
            seen += [edge["node"]["id"] for edge in connection["edges"]]
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
        assert len(seen) == 40
        assert sorted(seen) == sorted(global_id(p) for p in Product.objects.all())


@pytest.mark.parametrize("node_id", ["99999999999999999999", "²", "-1", "1e3"])
def test_lookups_and_filters_with_odd_numeric_ids_find_nothing(gql, node_id):
    make_catalog()
    product_id = to_base64("Product", node_id)
    category_id = to_base64("Category", node_id)

    lookups = gql(
        "query($p: ID!, $c: ID!) { product(id: $p) { id } category(id: $c) { id } }",
        {"p": product_id, "c": category_id},
    )
    filters = gql(
        "query($c: ID!) { products(filters: {categoryId: $c}) { totalCount }"
        " categories(filters: {parent: $c}) { id } }",
        {"c": category_id},
    )

    assert lookups.data == {"product": None, "category": None}
    assert filters.data == {"products": {"totalCount": 0}, "categories": []}
