"""Pictures for the demo catalog, drawn locally with Pillow: a storefront has images to show
without anything being downloaded. Each is a small PNG in the colour of its family, with the
product's initials."""

import io

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

SIZE = 320
COLOURS = {
    "Clothing": ((214, 227, 242), (44, 82, 130)),
    "Home": ((240, 228, 212), (128, 82, 40)),
    "Electronics": ((222, 236, 224), (40, 110, 64)),
    "Wellness": ((240, 222, 232), (128, 44, 92)),
}


def product_picture(name: str, family: str) -> ContentFile:
    """A PNG of ``SIZE`` pixels square for the product ``name`` of ``family``."""
    background, ink = COLOURS.get(family, ((230, 230, 230), (60, 60, 60)))
    image = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((24, 24, SIZE - 24, SIZE - 24), radius=32, outline=ink, width=6)
    initials = "".join(word[0] for word in name.split()[:3]).upper()
    draw.text((SIZE / 2, SIZE / 2), initials, fill=ink, anchor="mm", font_size=96)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return ContentFile(buffer.getvalue(), name="picture.png")
