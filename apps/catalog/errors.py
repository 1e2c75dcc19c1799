from enum import StrEnum


class CatalogErrorCode(StrEnum):
    CATEGORY_NOT_EMPTY = "category_not_empty"
    SLUG_TAKEN = "slug_taken"
    SKU_TAKEN = "sku_taken"
    INSUFFICIENT_STOCK = "insufficient_stock"
    VARIANT_UNAVAILABLE = "variant_unavailable"
    INVALID_IMAGE = "invalid_image"
    LAST_VARIANT = "last_variant"
