"""The service section of a product (``apps.catalog.services.SECTIONS``): how it is booked."""

from django.core.exceptions import ValidationError
from strawberry import relay

from api.types import node_pk
from apps.catalog.models import ProductKind
from apps.core.errors import CoreErrorCode

from .models import Resource
from .services import service_settings_set


def save_service_section(product, given: dict) -> None:
    """Write the booking settings given for ``product`` (a SERVICE only)."""
    if product.kind != ProductKind.SERVICE:
        raise ValidationError(
            {"service": ValidationError("Only a service is booked.", code=CoreErrorCode.INVALID)}
        )
    values = dict(given)
    resource_ids = values.pop("resource_ids", None)
    resources = None
    if resource_ids is not None:
        pks = [_resource_pk(gid) for gid in resource_ids]
        found = Resource.objects.in_bulk([pk for pk in pks if pk is not None])
        for index, pk in enumerate(pks):
            if pk not in found:
                raise ValidationError(
                    {
                        f"service.resourceIds.{index}": ValidationError(
                            "No resource found with this id.", code=CoreErrorCode.NOT_FOUND
                        )
                    }
                )
        resources = [found[pk] for pk in pks]
    service_settings_set(product=product, values=values, resources=resources, prefix="service.")


def _resource_pk(value) -> int | None:
    """The key of a resource id as the catalog hands it over: a ``GlobalID``, or the dict
    ``strawberry.asdict`` makes of one (it turns nested dataclasses into dicts)."""
    if isinstance(value, dict):
        value = relay.GlobalID(str(value.get("type_name", "")), str(value.get("node_id", "")))
    return node_pk(value, "Resource")
