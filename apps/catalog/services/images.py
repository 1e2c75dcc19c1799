"""Product images: checked by Pillow, limited in size and number, files removed after commit."""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from apps.catalog.errors import CatalogErrorCode
from apps.catalog.models import Product, ProductImage
from apps.core.errors import CoreErrorCode
from apps.core.validation import clean_text

from ._common import error

MAX_IMAGES_PER_PRODUCT = 20
# The formats accepted, with the extensions a file of each may carry; the first is the one a
# stored file gets.
EXTENSIONS = {
    "JPEG": ("jpg", "jpeg", "jpe"),
    "PNG": ("png",),
    "WEBP": ("webp",),
    "GIF": ("gif",),
}
ALLOWED_IMAGE_FORMATS = set(EXTENSIONS)


def _file_size(size: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _check_image(upload: UploadedFile) -> str:
    """The image's format, once its size, content and name have been checked."""
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
    # A file that says it is something else (a GIF named page.html) is refused: whatever
    # serves it later may trust the name rather than the content.
    extension = PurePosixPath(upload.name or "").suffix.lower().removeprefix(".")
    if extension and extension not in EXTENSIONS[image_format]:
        raise error(
            "image",
            f"The file is a {image_format} image but is named .{extension}.",
            CatalogErrorCode.INVALID_IMAGE,
        )
    upload.seek(0)
    return image_format


@transaction.atomic
def product_image_upload(*, product: Product, upload: UploadedFile, alt: str = "") -> ProductImage:
    alt = clean_text(alt, field="alt", max_length=255)
    image_format = _check_image(upload)
    product = Product.objects.select_for_update().get(pk=product.pk)
    count = product.images.count()
    if count >= MAX_IMAGES_PER_PRODUCT:
        raise error(
            "image",
            f"A product has at most {MAX_IMAGES_PER_PRODUCT} images.",
            CoreErrorCode.INVALID,
        )
    image = ProductImage(product=product, alt=alt, sort_order=count)
    # A name of our own: random, with the extension of the detected format.
    image.image.save(f"{uuid.uuid4().hex}.{EXTENSIONS[image_format][0]}", upload, save=False)
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
