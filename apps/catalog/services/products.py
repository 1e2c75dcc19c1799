"""Product and variant writes: at least one variant each, unique SKUs and slugs, archiving."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from apps.catalog.errors import CatalogErrorCode
from apps.catalog.models import Category, Product, ProductKind, ProductVariant, StockMovement
from apps.core.errors import CoreErrorCode
from apps.core.validation import full_clean

from ._common import check_sku, error, parse_price, unique_slug
from .stock import record_stock


def _build_variant(product: Product, data: dict, *, prefix: str) -> ProductVariant:
    variant = ProductVariant(
        product=product,
        sku=check_sku(data.get("sku", ""), field=f"{prefix}sku"),
        name=(data.get("name") or "").strip(),
        price=parse_price(data.get("price"), field=f"{prefix}price"),
        stock_quantity=data.get("stock_quantity") or 0,
        is_active=data.get("is_active", True) is not False,
    )
    if variant.stock_quantity < 0:
        raise error(f"{prefix}stockQuantity", "Stock cannot be negative.", CoreErrorCode.INVALID)
    if variant.stock_quantity and not ProductKind(product.kind).tracks_stock:
        raise error(
            f"{prefix}stockQuantity",
            "A service has no stock: what it can sell is its free time slots.",
            CoreErrorCode.INVALID,
        )
    full_clean(variant, exclude=["product"], prefix=prefix)
    return variant


def _save_variant(variant: ProductVariant, *, actor=None) -> ProductVariant:
    variant.save()
    if variant.stock_quantity:
        record_stock(
            variant=variant,
            kind=StockMovement.Kind.SET,
            delta=variant.stock_quantity,
            reason="Initial stock",
            actor=actor,
        )
    return variant


@transaction.atomic
def product_create(
    *,
    name: str,
    category: Category,
    variants: list[dict],
    slug: str | None = None,
    description: str = "",
    is_active: bool = True,
    kind: ProductKind = ProductKind.GOODS,
    actor=None,
) -> Product:
    if not variants:
        raise error("variants", "A product needs at least one variant.", CoreErrorCode.REQUIRED)
    skus = [(v.get("sku") or "").strip().lower() for v in variants]
    if len(set(skus)) != len(skus):
        raise error("variants", "Each variant needs its own SKU.", CatalogErrorCode.SKU_TAKEN)
    product = Product(
        name=(name or "").strip(),
        description=(description or "").strip(),
        category=category,
        is_active=is_active,
        kind=kind,
    )
    full_clean(product, exclude=["slug"])
    product.slug = unique_slug(Product, wanted=slug, name=product.name)
    built = [
        _build_variant(product, data, prefix=f"variants.{i}.") for i, data in enumerate(variants)
    ]
    product.save()
    for variant in built:
        variant.product = product
        _save_variant(variant, actor=actor)
    return product


@transaction.atomic
def product_update(
    *,
    product: Product,
    name: str | None = None,
    slug: str | None = None,
    description: str | None = None,
    category: Category | None = None,
    is_active: bool | None = None,
) -> Product:
    if name is not None:
        product.name = name.strip()
    if description is not None:
        product.description = description.strip()
    if category is not None:
        product.category = category
    if is_active is not None:
        product.is_active = is_active
        if is_active:
            product.archived_at = None
    full_clean(product, exclude=["slug"])
    if slug is not None and slug != product.slug:
        product.slug = unique_slug(Product, wanted=slug, name=product.name, exclude_pk=product.pk)
    product.save()
    return product


@transaction.atomic
def product_delete(*, product: Product) -> Product:
    """Delete the product, or archive it (inactive, kept) when orders or carts point at it."""
    pk = product.pk
    try:
        with transaction.atomic():
            product.delete()
    except ProtectedError:
        product.is_active = False
        product.archived_at = timezone.now()
        product.save(update_fields=["is_active", "archived_at", "updated_at"])
        return product
    product.pk = pk
    return product


@transaction.atomic
def variant_create(*, product: Product, data: dict, actor=None) -> ProductVariant:
    return _save_variant(_build_variant(product, data, prefix=""), actor=actor)


@transaction.atomic
def variant_update(
    *,
    variant: ProductVariant,
    sku: str | None = None,
    name: str | None = None,
    price: Decimal | None = None,
    is_active: bool | None = None,
) -> ProductVariant:
    if sku is not None:
        variant.sku = check_sku(sku, field="sku", exclude_pk=variant.pk)
    if name is not None:
        variant.name = name.strip()
    if price is not None:
        variant.price = parse_price(price, field="price")
    if is_active is not None:
        variant.is_active = is_active
    full_clean(variant, exclude=["product"])
    variant.save()
    return variant


@transaction.atomic
def variant_delete(*, variant: ProductVariant) -> ProductVariant:
    """Delete a variant, or deactivate it when orders or carts point at it."""
    product = Product.objects.select_for_update().get(pk=variant.product_id)
    if not product.variants.exclude(pk=variant.pk).exists():
        raise ValidationError(
            "A product keeps at least one variant; delete the product instead.",
            code=CatalogErrorCode.LAST_VARIANT,
        )
    pk = variant.pk
    try:
        with transaction.atomic():
            variant.delete()
    except ProtectedError:
        variant.is_active = False
        variant.save(update_fields=["is_active", "updated_at"])
        return variant
    variant.pk = pk
    return variant
