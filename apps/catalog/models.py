from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import connection, models
from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact

from apps.core.models import TimeStampedModel
from apps.core.validation import DESCRIPTION_MAX_LENGTH

SEARCH_CONFIG = "english"
MAX_STOCK = 1_000_000_000  # units of one variant: well inside the database's integer
MAX_DURATION_MINUTES = 24 * 60  # a service booked for longer is booked day by day


def search_vector() -> SearchVector:
    """The expression of the GIN index ``catalog_product_search`` (built on PostgreSQL only, by
    migration 0001); queries must use the same expression to hit it."""
    return SearchVector("name", "description", config=SEARCH_CONFIG)


def _active_variants_of_outer_product() -> "ProductVariantQuerySet":
    return ProductVariant.objects.filter(product=OuterRef("pk"), is_active=True).order_by()


def min_price_expression() -> Subquery:
    """The lowest price among a product's active variants (a correlated subquery)."""
    return Subquery(_active_variants_of_outer_product().order_by("price").values("price")[:1])


def max_price_expression() -> Subquery:
    return Subquery(_active_variants_of_outer_product().order_by("-price").values("price")[:1])


def _sellable_variants_of_outer_product() -> "ProductVariantQuerySet":
    """Active variants that can be bought now: with stock, or of a service (booked by slot)."""
    return _active_variants_of_outer_product().filter(
        Q(stock_quantity__gt=0) | Exact(OuterRef("kind"), ProductKind.SERVICE)
    )


def in_stock_expression() -> Coalesce:
    """Whether a product can be bought now, for the SELECT list of a page of products.

    A scalar subquery rather than ``EXISTS``: PostgreSQL may plan an ``EXISTS`` in the SELECT
    list as a hashed subplan, which reads every variant of the catalog on every request; a
    scalar subquery is evaluated for the rows of the page only, through the variants' index.
    """
    sellable = _sellable_variants_of_outer_product().annotate(sellable=Value(True))
    return Coalesce(
        Subquery(sellable.values("sellable")[:1]),
        Value(False),
        output_field=models.BooleanField(),
    )


def in_stock_condition() -> Exists:
    """Whether a product can be bought now, for a WHERE clause (the ``inStock`` filter)."""
    return Exists(_sellable_variants_of_outer_product())


def priced_between_expression(low: Decimal | None, high: Decimal | None) -> Exists:
    """A product has an active variant priced within [low, high] (either end open)."""
    variants = _active_variants_of_outer_product()
    if low is not None:
        variants = variants.filter(price__gte=low)
    if high is not None:
        variants = variants.filter(price__lte=high)
    return Exists(variants)


class CategoryQuerySet(models.QuerySet["Category"]):
    def descendant_ids(self, root_ids: list[int]) -> list[int]:
        """``root_ids`` and the ids of every category below them (one query)."""
        children: dict[int | None, list[int]] = {}
        for pk, parent_id in Category.objects.values_list("pk", "parent_id"):
            children.setdefault(parent_id, []).append(pk)
        found, stack = [], list(root_ids)
        while stack:
            pk = stack.pop()
            found.append(pk)
            stack.extend(children.get(pk, []))
        return found


class Category(TimeStampedModel):
    name = models.CharField(max_length=128)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(
        blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)]
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ProductKind(models.TextChoices):
    """What a product is: goods ship and are counted in stock; a service is booked in time.

    The kind is set when the product is created and never changes (carts and orders copy it).
    """

    GOODS = "GOODS", "Goods"
    SERVICE = "SERVICE", "Service"

    @property
    def ships(self) -> bool:
        """Its lines need a shipping address and pay shipping."""
        return self is ProductKind.GOODS

    @property
    def tracks_stock(self) -> bool:
        """Its variants' ``stock_quantity`` is what can be sold."""
        return self is ProductKind.GOODS


class ProductQuerySet(models.QuerySet["Product"]):
    def active(self) -> "ProductQuerySet":
        return self.filter(is_active=True)

    def search(self, text: str) -> "ProductQuerySet":
        """Full-text search on PostgreSQL (ranked), a case-insensitive match elsewhere."""
        text = text.strip()
        if not text:
            return self
        if connection.vendor == "postgresql":
            query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
            return (
                self.alias(search_document=search_vector())
                .filter(search_document=query)
                .order_by(SearchRank(search_vector(), query).desc(), "-id")
            )
        return self.filter(Q(name__icontains=text) | Q(description__icontains=text))

    def in_categories(self, category_ids: list[int]) -> "ProductQuerySet":
        return self.filter(category_id__in=Category.objects.descendant_ids(category_ids))


class Product(TimeStampedModel):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    kind = models.CharField(max_length=16, choices=ProductKind.choices, default=ProductKind.GOODS)
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=280, unique=True)
    description = models.TextField(
        blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)]
    )
    is_active = models.BooleanField(default=True, db_index=True)
    archived_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when a product with orders is deleted."
    )

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ProductKind.values), name="catalog_product_kind_known"
            ),
        ]
        indexes = [
            # and catalog_product_search, a GIN index over search_vector(), on PostgreSQL only
            models.Index(fields=["category", "is_active"], name="catalog_product_cat_active"),
        ]

    def __str__(self) -> str:
        return self.name


class ProductVariantQuerySet(models.QuerySet["ProductVariant"]):
    def active(self) -> "ProductVariantQuerySet":
        return self.filter(is_active=True, product__is_active=True)


class ProductVariant(TimeStampedModel):
    """What is bought: it carries the SKU, the price and the stock."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255, blank=True)
    price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    stock_quantity = models.IntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(MAX_STOCK)]
    )
    is_active = models.BooleanField(default=True)
    duration_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(5), MaxValueValidator(MAX_DURATION_MINUTES)],
        help_text="Services only: how long one booking of this variant lasts.",
    )

    objects = ProductVariantQuerySet.as_manager()

    class Meta:
        ordering = ["price", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="catalog_variant_price_positive"),
            models.CheckConstraint(
                condition=Q(duration_minutes__isnull=True)
                | Q(duration_minutes__gte=5, duration_minutes__lte=MAX_DURATION_MINUTES),
                name="catalog_variant_duration_range",
            ),
            models.CheckConstraint(
                condition=Q(stock_quantity__gte=0), name="catalog_variant_stock_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["stock_quantity"], name="catalog_variant_stock")]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}".strip()

    @property
    def in_stock(self) -> bool:
        """Can be bought now: active, and with stock unless it is a service (booked by slot)."""
        if not self.is_active:
            return False
        return self.stock_quantity > 0 or not ProductKind(self.product.kind).tracks_stock


def product_image_path(instance: "ProductImage", filename: str) -> str:
    return f"products/{instance.product_id}/{filename}"


class ProductImage(TimeStampedModel):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(
        upload_to=product_image_path, width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    alt = models.CharField(max_length=255, blank=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.alt or self.image.name


class StockMovement(models.Model):
    """One change of a variant's stock, with who made it and why."""

    class Kind(models.TextChoices):
        SET = "set", "Set"
        DELTA = "delta", "Adjustment"
        SALE = "sale", "Sale"
        RETURN = "return", "Return"

    variant = models.ForeignKey(
        ProductVariant, on_delete=models.CASCADE, related_name="stock_movements"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    delta = models.IntegerField()
    quantity_after = models.IntegerField()
    reason = models.CharField(max_length=255)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.variant} {self.delta:+d} ({self.reason})"
