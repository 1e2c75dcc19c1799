"""Every write of the catalog: products, variants, categories, images and stock."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_slug
from django.db import models, transaction
from django.db.models import F, ProtectedError
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, UnidentifiedImageError

from apps.core import response_cache
from apps.core.errors import CoreErrorCode
from apps.core.validation import full_clean

from .errors import CatalogErrorCode
from .models import Category, Product, ProductImage, ProductVariant, StockMovement

MAX_IMAGES_PER_PRODUCT = 20
ALLOWED_IMAGE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _unique_slug(
    model: type[models.Model], *, wanted: str | None, name: str, exclude_pk: int | None = None
) -> str:
    """The given slug, checked; or one derived from the name, made unique with a suffix."""
    taken = model._default_manager.exclude(pk=exclude_pk)
    if wanted:
        wanted = wanted.strip().lower()
        try:
            validate_slug(wanted)
        except ValidationError:
            raise _error(
                "slug", "Use letters, numbers, hyphens and underscores only.", CoreErrorCode.INVALID
            ) from None
        if taken.filter(slug=wanted).exists():
            raise _error("slug", "This slug is already used.", CatalogErrorCode.SLUG_TAKEN)
        return wanted
    base = slugify(name)[:120] or "item"
    slug, n = base, 2
    while taken.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_sku(sku: str, *, field: str, exclude_pk: int | None = None) -> str:
    sku = (sku or "").strip()
    if sku and ProductVariant.objects.exclude(pk=exclude_pk).filter(sku__iexact=sku).exists():
        raise _error(field, f"The SKU {sku} is already used.", CatalogErrorCode.SKU_TAKEN)
    return sku


def _price(value: Any, *, field: str) -> Decimal:
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise _error(field, "Enter a valid price.", CoreErrorCode.INVALID) from None
    if not price.is_finite() or price <= 0:
        raise _error(field, "The price must be greater than zero.", CoreErrorCode.INVALID)
    return price


def _record_stock(
    *, variant: ProductVariant, kind: str, delta: int, reason: str, actor=None
) -> StockMovement:
    return StockMovement.objects.create(
        variant=variant,
        kind=kind,
        delta=delta,
        quantity_after=variant.stock_quantity,
        reason=reason,
        actor=actor,
    )


# --- Categories -------------------------------------------------------------------------------


def _check_parent(category: Category | None, parent: Category | None) -> None:
    if category is None or parent is None or category.pk is None:
        return
    if parent.pk in Category.objects.descendant_ids([category.pk]):
        raise _error("parentId", "A category cannot be placed below itself.", CoreErrorCode.INVALID)


@transaction.atomic
def category_create(
    *, name: str, slug: str | None = None, description: str = "", parent: Category | None = None
) -> Category:
    category = Category(
        name=(name or "").strip(), description=(description or "").strip(), parent=parent
    )
    full_clean(category, exclude=["slug"])
    category.slug = _unique_slug(Category, wanted=slug, name=category.name)
    category.save()
    return category


_UNSET: Any = object()


@transaction.atomic
def category_update(
    *,
    category: Category,
    name: str | None = None,
    slug: str | None = None,
    description: str | None = None,
    parent: Category | None = _UNSET,
) -> Category:
    if name is not None:
        category.name = name.strip()
    if description is not None:
        category.description = description.strip()
    if parent is not _UNSET:
        _check_parent(category, parent)
        category.parent = parent
    full_clean(category, exclude=["slug"])
    if slug is not None and slug != category.slug:
        category.slug = _unique_slug(
            Category, wanted=slug, name=category.name, exclude_pk=category.pk
        )
    category.save()
    return category


@transaction.atomic
def category_delete(*, category: Category) -> Category:
    if category.products.exists() or category.children.exists():
        raise ValidationError(
            "Move or delete this category's products and subcategories first.",
            code=CatalogErrorCode.CATEGORY_NOT_EMPTY,
        )
    pk = category.pk
    category.delete()
    category.pk = pk
    return category


# --- Products and variants ----------------------------------------------------------------


def _build_variant(product: Product, data: dict, *, prefix: str) -> ProductVariant:
    variant = ProductVariant(
        product=product,
        sku=_check_sku(data.get("sku", ""), field=f"{prefix}sku"),
        name=(data.get("name") or "").strip(),
        price=_price(data.get("price"), field=f"{prefix}price"),
        stock_quantity=data.get("stock_quantity") or 0,
        is_active=data.get("is_active", True) is not False,
    )
    if variant.stock_quantity < 0:
        raise _error(f"{prefix}stockQuantity", "Stock cannot be negative.", CoreErrorCode.INVALID)
    full_clean(variant, exclude=["product"], prefix=prefix)
    return variant


def _save_variant(variant: ProductVariant, *, actor=None) -> ProductVariant:
    variant.save()
    if variant.stock_quantity:
        _record_stock(
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
    actor=None,
) -> Product:
    if not variants:
        raise _error("variants", "A product needs at least one variant.", CoreErrorCode.REQUIRED)
    skus = [(v.get("sku") or "").strip().lower() for v in variants]
    if len(set(skus)) != len(skus):
        raise _error("variants", "Each variant needs its own SKU.", CatalogErrorCode.SKU_TAKEN)
    product = Product(
        name=(name or "").strip(),
        description=(description or "").strip(),
        category=category,
        is_active=is_active,
    )
    full_clean(product, exclude=["slug"])
    product.slug = _unique_slug(Product, wanted=slug, name=product.name)
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
        product.slug = _unique_slug(Product, wanted=slug, name=product.name, exclude_pk=product.pk)
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
        variant.sku = _check_sku(sku, field="sku", exclude_pk=variant.pk)
    if name is not None:
        variant.name = name.strip()
    if price is not None:
        variant.price = _price(price, field="price")
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


# --- Images -----------------------------------------------------------------------------------


def _file_size(size: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _check_image(upload: UploadedFile) -> None:
    limit = settings.PRODUCT_IMAGE_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise _error(
            "image",
            f"The image must be at most {_file_size(limit)}.",
            CatalogErrorCode.INVALID_IMAGE,
        )
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _error("image", "The file is not an image.", CatalogErrorCode.INVALID_IMAGE) from None
    if image_format not in ALLOWED_IMAGE_FORMATS:
        raise _error(
            "image", "Upload a JPEG, PNG, WebP or GIF image.", CatalogErrorCode.INVALID_IMAGE
        )
    upload.seek(0)


@transaction.atomic
def product_image_upload(*, product: Product, upload: UploadedFile, alt: str = "") -> ProductImage:
    _check_image(upload)
    product = Product.objects.select_for_update().get(pk=product.pk)
    count = product.images.count()
    if count >= MAX_IMAGES_PER_PRODUCT:
        raise _error(
            "image",
            f"A product has at most {MAX_IMAGES_PER_PRODUCT} images.",
            CoreErrorCode.INVALID,
        )
    image = ProductImage(product=product, alt=(alt or "").strip()[:255], sort_order=count)
    image.image.save(upload.name or "image", upload, save=False)
    try:
        image.save()
    except Exception:
        image.image.storage.delete(image.image.name)
        raise
    return image


@transaction.atomic
def product_image_delete(*, image: ProductImage) -> Product:
    product = image.product
    stored = image.image.name
    storage = image.image.storage
    image.delete()
    transaction.on_commit(lambda: storage.delete(stored))
    return product


# --- Stock -------------------------------------------------------------------------------------


@transaction.atomic
def stock_update(
    *,
    variant: ProductVariant,
    reason: str,
    quantity: int | None = None,
    delta: int | None = None,
    actor=None,
) -> ProductVariant:
    """Set the stock to ``quantity`` or change it by ``delta``; keep the movement and reason."""
    if (quantity is None) == (delta is None):
        raise ValidationError("Give either quantity or delta.", code=CoreErrorCode.INVALID)
    reason = (reason or "").strip()
    if not reason:
        raise _error("reason", "Say why the stock changes.", CoreErrorCode.REQUIRED)
    variant = ProductVariant.objects.select_for_update().get(pk=variant.pk)
    before = variant.stock_quantity
    if quantity is not None:
        if quantity < 0:
            raise _error("quantity", "Stock cannot be negative.", CoreErrorCode.INVALID)
        after, kind = quantity, StockMovement.Kind.SET
    else:
        after, kind = before + delta, StockMovement.Kind.DELTA
        if after < 0:
            raise _error(
                "delta",
                f"Only {before} in stock; the stock cannot go below zero.",
                CatalogErrorCode.INSUFFICIENT_STOCK,
            )
    variant.stock_quantity = after
    variant.save(update_fields=["stock_quantity", "updated_at"])
    _record_stock(
        variant=variant, kind=kind, delta=after - before, reason=reason[:255], actor=actor
    )
    return variant


def _lock_variants(pks) -> list[ProductVariant]:
    """Lock the variants' rows in primary-key order, so two buyers never deadlock."""
    return list(
        ProductVariant.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(pk__in=pks)
        .order_by("pk")
    )


@transaction.atomic(savepoint=False)  # part of the caller's transaction (checkout)
def stock_allocate(
    *,
    quantities: dict[int, int],
    reason: str,
    actor=None,
    locked: dict[int, ProductVariant] | None = None,
) -> dict[int, ProductVariant]:
    """Take ``quantities`` (variant id → units) off the shelf, all or nothing.

    Every variant must still be on sale (``variant_unavailable``) and have the units
    (``insufficient_stock``). Returns the locked variants, by id, with their new stock.
    ``locked``: the variants (with their product), by id, when the caller already locked their
    rows in id order in this transaction; otherwise they are locked here.
    """
    if locked is not None:
        variants = locked
    else:
        variants = {variant.pk: variant for variant in _lock_variants(quantities)}
    for pk in sorted(quantities):
        variant = variants.get(pk)
        if variant is None or not (variant.is_active and variant.product.is_active):
            sku = variant.sku if variant else pk
            raise ValidationError(
                f"{sku} is no longer on sale; remove it from the cart.",
                code=CatalogErrorCode.VARIANT_UNAVAILABLE,
            )
    for pk in sorted(quantities):
        variant = variants[pk]
        if variant.stock_quantity < quantities[pk]:
            raise ValidationError(
                f"Only {variant.stock_quantity} of {variant.sku} left; "
                f"{quantities[pk]} were asked for.",
                code=CatalogErrorCode.INSUFFICIENT_STOCK,
            )
    _apply_stock(
        variants.values(),
        {pk: -q for pk, q in quantities.items()},
        kind=StockMovement.Kind.SALE,
        reason=reason,
        actor=actor,
    )
    return variants


@transaction.atomic(savepoint=False)  # part of the caller's transaction (cancellation)
def stock_release(*, quantities: dict[int, int], reason: str, actor=None) -> None:
    """Put ``quantities`` (variant id → units) back on the shelf (a cancelled order)."""
    if not quantities:
        return
    variants = _lock_variants(quantities)
    _apply_stock(variants, quantities, kind=StockMovement.Kind.RETURN, reason=reason, actor=actor)


def _apply_stock(variants, deltas: dict[int, int], *, kind: str, reason: str, actor) -> None:
    """Change the stock of the (locked) variants by ``deltas`` in one UPDATE.

    The UPDATE is relative (``stock = stock + delta``), so the database CHECK stays the last
    guard against overselling even if a caller forgot to lock.
    """
    variants = list(variants)
    now = timezone.now()
    after = {v.pk: v.stock_quantity + deltas[v.pk] for v in variants}  # rows are locked
    for variant in variants:
        variant.stock_quantity = F("stock_quantity") + deltas[variant.pk]
        variant.updated_at = now
    ProductVariant.objects.bulk_update(variants, ["stock_quantity", "updated_at"])
    response_cache.invalidate()  # bulk updates send no signals
    for variant in variants:
        variant.stock_quantity = after[variant.pk]
    StockMovement.objects.bulk_create(
        StockMovement(
            variant=variant,
            kind=kind,
            delta=deltas[variant.pk],
            quantity_after=variant.stock_quantity,
            reason=reason[:255],
            actor=actor,
        )
        for variant in variants
    )
