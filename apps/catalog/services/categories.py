"""Category writes: the tree, its slugs, and deleting only what is empty."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.catalog.errors import CatalogErrorCode
from apps.catalog.models import Category
from apps.core.errors import CoreErrorCode
from apps.core.validation import full_clean

from ._common import UNSET, error, unique_slug


def _check_parent(category: Category | None, parent: Category | None) -> None:
    if category is None or parent is None or category.pk is None:
        return
    if parent.pk in Category.objects.descendant_ids([category.pk]):
        raise error("parentId", "A category cannot be placed below itself.", CoreErrorCode.INVALID)


@transaction.atomic
def category_create(
    *, name: str, slug: str | None = None, description: str = "", parent: Category | None = None
) -> Category:
    category = Category(
        name=(name or "").strip(), description=(description or "").strip(), parent=parent
    )
    full_clean(category, exclude=["slug"])
    category.slug = unique_slug(Category, wanted=slug, name=category.name)
    category.save()
    return category


@transaction.atomic
def category_update(
    *,
    category: Category,
    name: str | None = None,
    slug: str | None = None,
    description: str | None = None,
    parent: Category | None = UNSET,
) -> Category:
    if name is not None:
        category.name = name.strip()
    if description is not None:
        category.description = description.strip()
    if parent is not UNSET:
        _check_parent(category, parent)
        category.parent = parent
    full_clean(category, exclude=["slug"])
    if slug is not None and slug != category.slug:
        category.slug = unique_slug(
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
