"""Product and variant writes: at least one variant each, unique SKUs and slugs, archiving.

A service (``ProductKind.SERVICE``) is booked in time: its variants last ``duration_minutes``
and have no stock, and how it is booked (its buffers, grid, seats, resources) belongs to the
app that books it. That app registers a ``ProductSection`` for it: the product services call
it, in their transaction, with what the caller gave under its name (``sections``).
"""

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ProductSection:
    """A part of a product another app keeps (a service's booking settings): ``save`` takes
    the product and what was given under ``name`` (None when nothing was), and ``required``
    says for which kinds it must be given when the product is created."""

    name: str
    save: Callable[..., None]
    required_for: frozenset[str] = frozenset()


SECTIONS: dict[str, ProductSection] = {}


def register_section(section: ProductSection) -> None:
    SECTIONS[section.name] = section


def _save_sections(product: Product, sections: dict, *, creating: bool) -> None:
    for name in sections:
        if name not in SECTIONS:
            raise ValueError(f"No product section named {name!r}")
    for section in SECTIONS.values():
        given = sections.get(section.name)
        if given is None and creating and product.kind in section.required_for:
            raise error(
                section.name,
                f"A {product.get_kind_display().lower()} needs its {section.name} settings.",
                CoreErrorCode.REQUIRED,
            )
        if given is not None:
            section.save(product, given)


def _build_variant(product: Product, data: dict, *, prefix: str) -> ProductVariant:
    variant = ProductVariant(
        product=product,
        sku=check_sku(data.get("sku", ""), field=f"{prefix}sku"),
        name=(data.get("name") or "").strip(),
        price=parse_price(data.get("price"), field=f"{prefix}price"),
        stock_quantity=data.get("stock_quantity") or 0,
        is_active=data.get("is_active", True) is not False,
        duration_minutes=data.get("duration_minutes"),
    )
    _check_duration(product, variant, prefix=prefix)
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


def _check_duration(product: Product, variant: ProductVariant, *, prefix: str) -> None:
    is_service = product.kind == ProductKind.SERVICE
    if is_service and not variant.duration_minutes:
        raise error(
            f"{prefix}durationMinutes",
            "A service's variant says how long it lasts.",
            CoreErrorCode.REQUIRED,
        )
    if not is_service and variant.duration_minutes is not None:
        raise error(
            f"{prefix}durationMinutes", "Only a service's variants last.", CoreErrorCode.INVALID
        )


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
    sections: dict | None = None,
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
    _save_sections(product, sections or {}, creating=True)
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
    sections: dict | None = None,
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
    _save_sections(product, sections or {}, creating=False)
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
    duration_minutes: int | None = None,
) -> ProductVariant:
    if sku is not None:
        variant.sku = check_sku(sku, field="sku", exclude_pk=variant.pk)
    if name is not None:
        variant.name = name.strip()
    if price is not None:
        variant.price = parse_price(price, field="price")
    if is_active is not None:
        variant.is_active = is_active
    if duration_minutes is not None:
        variant.duration_minutes = duration_minutes
        _check_duration(variant.product, variant, prefix="")
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
