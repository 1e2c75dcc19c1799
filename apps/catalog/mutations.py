from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Union

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from strawberry import relay
from strawberry.file_uploads import Upload
from strawberry_django.fields.types import OperationInfo

from api.permissions import HasPerm
from api.types import resolve_id

from . import services
from .errors import CatalogErrorCode
from .models import ProductKind
from .types import (
    CategoryType,
    ProductImageType,
    ProductKindEnum,
    ProductType,
    ProductVariantType,
)

if TYPE_CHECKING:
    from apps.bookings.types import ServiceSettingsInput

# Bookings are a layer above the catalog: their settings' input is reached lazily.
ServiceSettingsRef = Annotated["ServiceSettingsInput", strawberry.lazy("apps.bookings.types")]

ProductPayload = Annotated[
    Union[ProductType, OperationInfo],  # noqa: UP007
    strawberry.union("ProductPayload"),
]
ProductVariantPayload = Annotated[
    Union[ProductVariantType, OperationInfo],  # noqa: UP007
    strawberry.union("ProductVariantPayload"),
]
CategoryPayload = Annotated[
    Union[CategoryType, OperationInfo],  # noqa: UP007
    strawberry.union("CategoryPayload"),
]


@strawberry.input(name="ProductVariantInput")
class ProductVariantInput:
    sku: str
    name: str | None = None
    price: Decimal
    stock_quantity: int = strawberry.field(default=0, description="Goods only.")
    is_active: bool = True
    duration_minutes: int | None = strawberry.field(
        default=None, description="A service's variants only, and required for them."
    )


@strawberry.input(
    name="ProductVariantUpdateInput", description="Stock changes only through `stockUpdate`."
)
class ProductVariantUpdateInput:
    sku: str | None = None
    name: str | None = None
    price: Decimal | None = None
    is_active: bool | None = None
    duration_minutes: int | None = strawberry.field(default=None, description="Services only.")


@strawberry.input(name="ProductCreateInput")
class ProductCreateInput:
    name: str
    slug: str | None = strawberry.field(
        default=None, description="Derived from the name when omitted; unique."
    )
    description: str | None = None
    category_id: relay.GlobalID
    is_active: bool = True
    kind: ProductKindEnum = strawberry.field(
        default=ProductKind.GOODS, description="Set once: a product keeps its kind."
    )
    variants: list[ProductVariantInput] = strawberry.field(description="At least one.")
    service: ServiceSettingsRef | None = strawberry.field(
        default=None, description="How a service is booked: required for a SERVICE."
    )


@strawberry.input(name="ProductUpdateInput")
class ProductUpdateInput:
    name: str | None = None
    slug: str | None = None
    description: str | None = None
    category_id: relay.GlobalID | None = None
    is_active: bool | None = None
    service: ServiceSettingsRef | None = strawberry.field(
        default=None, description="A service only: what changes in how it is booked."
    )


@strawberry.input(name="CategoryInput")
class CategoryInput:
    name: str
    slug: str | None = None
    description: str | None = None
    parent_id: relay.GlobalID | None = None


@strawberry.input(
    name="CategoryUpdateInput",
    description="An explicit `parentId: null` moves the category to the top.",
)
class CategoryUpdateInput:
    name: str | None = None
    slug: str | None = None
    description: str | None = None
    parent_id: relay.GlobalID | None = strawberry.UNSET


def _sections(input) -> dict:
    """The parts of the input other apps keep (``apps.catalog.services.SECTIONS``)."""
    service = getattr(input, "service", None)
    return {} if service is None else {"service": strawberry.asdict(service)}


def _user(info: strawberry.Info):
    return info.context.request.user


@strawberry.type
class CatalogMutation:
    @strawberry_django.mutation(extensions=[HasPerm("catalog.add_product")])
    def product_create(self, info: strawberry.Info, input: ProductCreateInput) -> ProductPayload:
        return services.product_create(
            name=input.name,
            slug=input.slug,
            description=input.description or "",
            category=resolve_id(info, input.category_id, CategoryType, field="categoryId"),
            is_active=input.is_active,
            kind=ProductKind(input.kind),
            variants=[strawberry.asdict(v) for v in input.variants],
            sections=_sections(input),
            actor=_user(info),
        )

    @strawberry_django.mutation(extensions=[HasPerm("catalog.change_product")])
    def product_update(
        self, info: strawberry.Info, id: relay.GlobalID, input: ProductUpdateInput
    ) -> ProductPayload:
        category = input.category_id and resolve_id(
            info, input.category_id, CategoryType, field="categoryId"
        )
        return services.product_update(
            product=resolve_id(info, id, ProductType),
            name=input.name,
            slug=input.slug,
            description=input.description,
            category=category or None,
            is_active=input.is_active,
            sections=_sections(input),
        )

    @strawberry_django.mutation(
        extensions=[HasPerm("catalog.delete_product")],
        description="Delete a product; one that has been ordered is archived instead.",
    )
    def product_delete(self, info: strawberry.Info, id: relay.GlobalID) -> ProductPayload:
        return services.product_delete(product=resolve_id(info, id, ProductType))

    @strawberry_django.mutation(extensions=[HasPerm("catalog.add_productvariant")])
    def product_variant_create(
        self, info: strawberry.Info, product_id: relay.GlobalID, input: ProductVariantInput
    ) -> ProductVariantPayload:
        return services.variant_create(
            product=resolve_id(info, product_id, ProductType, field="productId"),
            data=strawberry.asdict(input),
            actor=_user(info),
        )

    @strawberry_django.mutation(extensions=[HasPerm("catalog.change_productvariant")])
    def product_variant_update(
        self, info: strawberry.Info, id: relay.GlobalID, input: ProductVariantUpdateInput
    ) -> ProductVariantPayload:
        return services.variant_update(
            variant=resolve_id(info, id, ProductVariantType),
            sku=input.sku,
            name=input.name,
            price=input.price,
            is_active=input.is_active,
            duration_minutes=input.duration_minutes,
        )

    @strawberry_django.mutation(extensions=[HasPerm("catalog.delete_productvariant")])
    def product_variant_delete(
        self, info: strawberry.Info, id: relay.GlobalID
    ) -> ProductVariantPayload:
        return services.variant_delete(variant=resolve_id(info, id, ProductVariantType))

    @strawberry_django.mutation(
        extensions=[HasPerm("catalog.add_productimage")],
        description="Upload an image (GraphQL multipart request); JPEG, PNG, WebP or GIF.",
    )
    def product_image_upload(
        self,
        info: strawberry.Info,
        product_id: relay.GlobalID,
        image: Upload,
        alt: str | None = None,
    ) -> ProductPayload:
        product = resolve_id(info, product_id, ProductType, field="productId")
        if not isinstance(image, UploadedFile):  # a string where the multipart file belongs
            raise ValidationError(
                {
                    "image": ValidationError(
                        "Send the image as a file (GraphQL multipart request).",
                        code=CatalogErrorCode.INVALID_IMAGE,
                    )
                }
            )
        services.product_image_upload(product=product, upload=image, alt=alt or "")
        return product

    @strawberry_django.mutation(extensions=[HasPerm("catalog.delete_productimage")])
    def product_image_delete(self, info: strawberry.Info, id: relay.GlobalID) -> ProductPayload:
        return services.product_image_delete(image=resolve_id(info, id, ProductImageType))

    @strawberry_django.mutation(extensions=[HasPerm("catalog.add_category")])
    def category_create(self, info: strawberry.Info, input: CategoryInput) -> CategoryPayload:
        parent = input.parent_id and resolve_id(
            info, input.parent_id, CategoryType, field="parentId"
        )
        return services.category_create(
            name=input.name,
            slug=input.slug,
            description=input.description or "",
            parent=parent or None,
        )

    @strawberry_django.mutation(extensions=[HasPerm("catalog.change_category")])
    def category_update(
        self, info: strawberry.Info, id: relay.GlobalID, input: CategoryUpdateInput
    ) -> CategoryPayload:
        changes = {}
        if input.parent_id is not strawberry.UNSET:
            changes["parent"] = input.parent_id and resolve_id(
                info, input.parent_id, CategoryType, field="parentId"
            )
        return services.category_update(
            category=resolve_id(info, id, CategoryType),
            name=input.name,
            slug=input.slug,
            description=input.description,
            **changes,
        )

    @strawberry_django.mutation(
        extensions=[HasPerm("catalog.delete_category")],
        description="Delete an empty category; one with products or children is refused.",
    )
    def category_delete(self, info: strawberry.Info, id: relay.GlobalID) -> CategoryPayload:
        return services.category_delete(category=resolve_id(info, id, CategoryType))

    @strawberry_django.mutation(
        extensions=[HasPerm("catalog.change_productvariant")],
        description="Set the stock (`quantity`) or change it (`delta`); the reason is kept.",
    )
    def stock_update(
        self,
        info: strawberry.Info,
        variant_id: relay.GlobalID,
        reason: str,
        quantity: int | None = None,
        delta: int | None = None,
    ) -> ProductVariantPayload:
        return services.stock_update(
            variant=resolve_id(info, variant_id, ProductVariantType, field="variantId"),
            quantity=quantity,
            delta=delta,
            reason=reason,
            actor=_user(info),
        )
