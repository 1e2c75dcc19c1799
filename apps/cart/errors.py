from enum import StrEnum


class CartErrorCode(StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    VARIANT_UNAVAILABLE = "variant_unavailable"
    CART_EMPTY = "cart_empty"
