"""Stock: set or adjusted by staff, taken by checkout and given back, each change recorded."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.catalog.errors import CatalogErrorCode
from apps.catalog.models import MAX_STOCK, ProductKind, ProductVariant, StockMovement
from apps.core import response_cache
from apps.core.errors import CoreErrorCode
from apps.core.validation import clean_text

from ._common import error


def record_stock(
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
    reason = clean_text(reason, field="reason", max_length=255)
    if not reason:
        raise error("reason", "Say why the stock changes.", CoreErrorCode.REQUIRED)
    variant = (
        ProductVariant.objects.select_for_update(of=("self",))
        .select_related("product")
        .get(pk=variant.pk)
    )
    if not ProductKind(variant.product.kind).tracks_stock:
        raise ValidationError(
            "A service has no stock: what it can sell is its free time slots.",
            code=CoreErrorCode.INVALID,
        )
    before = variant.stock_quantity
    if quantity is not None:
        if not 0 <= quantity <= MAX_STOCK:
            raise error("quantity", f"Stock is between 0 and {MAX_STOCK:,}.", CoreErrorCode.INVALID)
        after, kind = quantity, StockMovement.Kind.SET
    else:
        after, kind = before + delta, StockMovement.Kind.DELTA
        if after > MAX_STOCK:
            raise error("delta", f"Stock cannot go above {MAX_STOCK:,}.", CoreErrorCode.INVALID)
        if after < 0:
            raise error(
                "delta",
                f"Only {before} in stock; the stock cannot go below zero.",
                CatalogErrorCode.INSUFFICIENT_STOCK,
            )
    variant.stock_quantity = after
    variant.save(update_fields=["stock_quantity", "updated_at"])
    record_stock(variant=variant, kind=kind, delta=after - before, reason=reason[:255], actor=actor)
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
