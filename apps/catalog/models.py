from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.core.validators import MinValueValidator
from django.db import connection, models
from django.db.models import Exists, OuterRef, Q, Subquery

from apps.core.models import TimeStampedModel

SEARCH_CONFIG = "english"


def search_vector() -> SearchVector:
    """The expression behind the GIN index; queries must use the same one to hit it."""
    return SearchVector("name", "description", config=SEARCH_CONFIG)


def _active_variants_of_outer_product() -> "ProductVariantQuerySet":
    return ProductVariant.objects.filter(product=OuterRef("pk"), is_active=True).order_by()


def min_price_expression() -> Subquery:
    """The lowest price among a product's active variants (a correlated subquery)."""
    return Subquery(_active_variants_of_outer_product().order_by("price").values("price")[:1])


def max_price_expression() -> Subquery:
    return Subquery(_active_variants_of_outer_product().order_by("-price").values("price")[:1])


def in_stock_expression() -> Exists:
    return Exists(_active_variants_of_outer_product().filter(stock_quantity__gt=0))


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
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


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
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=280, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, db_index=True)
    archived_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when a product with orders is deleted."
    )

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            GinIndex(search_vector(), name="catalog_product_search"),
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
    stock_quantity = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    is_active = models.BooleanField(default=True)

    objects = ProductVariantQuerySet.as_manager()

    class Meta:
        ordering = ["price", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="catalog_variant_price_positive"),
            models.CheckConstraint(
                condition=Q(stock_quantity__gte=0), name="catalog_variant_stock_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["stock_quantity"], name="catalog_variant_stock")]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}".strip()

    @property
    def in_stock(self) -> bool:
        return self.is_active and self.stock_quantity > 0


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
