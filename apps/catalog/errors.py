from enum import StrEnum


class CatalogErrorCode(StrEnum):
    CATEGORY_NOT_EMPTY = "category_not_empty"
    SLUG_TAKEN = "slug_taken"
    SKU_TAKEN = "sku_taken"
    INSUFFICIENT_STOCK = "insufficient_stock"
    INVALID_IMAGE = "invalid_image"
    LAST_VARIANT = "last_variant"
