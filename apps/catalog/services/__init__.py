"""Every write of the catalog: categories, products and variants, images, stock."""

from .categories import category_create, category_delete, category_update
from .images import MAX_IMAGES_PER_PRODUCT, product_image_delete, product_image_upload
from .products import (
    SECTIONS,
    ProductSection,
    product_create,
    product_delete,
    product_update,
    register_section,
    variant_create,
    variant_delete,
    variant_update,
)
from .stock import stock_allocate, stock_release, stock_update

__all__ = [
    "MAX_IMAGES_PER_PRODUCT",
    "SECTIONS",
    "ProductSection",
    "category_create",
    "category_delete",
    "category_update",
    "product_create",
    "product_delete",
    "product_image_delete",
    "product_image_upload",
    "product_update",
    "register_section",
    "stock_allocate",
    "stock_release",
    "stock_update",
    "variant_create",
    "variant_delete",
    "variant_update",
]
