"""Product images: checked by Pillow, limited in size and number, files removed after commit."""

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from apps.catalog.errors import CatalogErrorCode
from apps.catalog.models import Product, ProductImage
from apps.core.errors import CoreErrorCode

from ._common import error

MAX_IMAGES_PER_PRODUCT = 20
ALLOWED_IMAGE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def _file_size(size: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _check_image(upload: UploadedFile) -> None:
    limit = settings.PRODUCT_IMAGE_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise error(
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
        raise error("image", "The file is not an image.", CatalogErrorCode.INVALID_IMAGE) from None
    if image_format not in ALLOWED_IMAGE_FORMATS:
        raise error(
            "image", "Upload a JPEG, PNG, WebP or GIF image.", CatalogErrorCode.INVALID_IMAGE
        )
    upload.seek(0)


@transaction.atomic
def product_image_upload(*, product: Product, upload: UploadedFile, alt: str = "") -> ProductImage:
    _check_image(upload)
    product = Product.objects.select_for_update().get(pk=product.pk)
    count = product.images.count()
    if count >= MAX_IMAGES_PER_PRODUCT:
        raise error(
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
