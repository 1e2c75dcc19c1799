"""A malformed UUID argument is an error on its own field, not on the whole document.

GraphQL refuses a value its scalar cannot parse while it validates the document: one
``cart(token: "not-a-uuid")`` would null every other field of the page. The ``UUID`` scalar
here accepts any string and marks one that is not a UUID (``BadUUID``); the fields that take a
UUID, directly or in an input, refuse the mark with a coded ``invalid``: a query field answers
``null`` with its error, a mutation its ``OperationInfo``. A missing or well-formed UUID goes
through untouched.
"""

import dataclasses
import uuid
from typing import Any

from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions import FieldExtension
from strawberry.types.base import StrawberryContainer, has_object_definition
from strawberry.types.scalar import ScalarDefinition
from strawberry.utils.str_converters import to_camel_case
from strawberry_django.fields.types import OperationInfo, OperationMessage
from strawberry_django.mutations.fields import DjangoMutationBase

from api.types import PublicError
from apps.core.errors import CoreErrorCode


class BadUUID(str):
    """A UUID argument whose value is not a UUID."""


def _parse_uuid(value: Any) -> uuid.UUID | BadUUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return BadUUID(str(value)[:64])


LenientUUID = ScalarDefinition(
    name="UUID",
    description=None,
    specified_by_url=None,
    serialize=str,
    parse_value=_parse_uuid,
    parse_literal=None,
    origin=uuid.UUID,
)


def _bad_uuid(value: Any, path: str) -> str | None:
    """The path of the first malformed UUID in an argument's value, or None."""
    if isinstance(value, BadUUID):
        return path
    if isinstance(value, list):
        return next((p for i, v in enumerate(value) if (p := _bad_uuid(v, f"{path}.{i}"))), None)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            found = _bad_uuid(getattr(value, field.name), f"{path}.{to_camel_case(field.name)}")
            if found:
                return found
    return None


class RefuseBadUUIDs(FieldExtension):
    def __init__(self, *, mutation: bool) -> None:
        self.mutation = mutation

    def resolve(self, next_, source, info, **kwargs):
        for name, value in kwargs.items():
            # Errors name an input's fields as the services do: `cartToken`, not `input.cartToken`.
            path = _bad_uuid(value, "" if name == "input" else to_camel_case(name))
            if path is None:
                continue
            path = path.removeprefix(".")
            message = f"'{path}' is not a valid UUID."
            if self.mutation:
                return OperationInfo(
                    messages=[
                        OperationMessage(
                            kind=OperationMessage.Kind.VALIDATION,
                            message=message,
                            field=path,
                            code=CoreErrorCode.INVALID,
                        )
                    ]
                )
            raise PublicError(message, code=CoreErrorCode.INVALID)
        return next_(source, info, **kwargs)


def _takes_uuid(type_: Any, seen: set) -> bool:
    if isinstance(type_, StrawberryAnnotation):
        type_ = type_.resolve()
    while isinstance(type_, StrawberryContainer):
        type_ = type_.of_type
    if type_ is uuid.UUID:
        return True
    if has_object_definition(type_) and type_ not in seen:
        seen.add(type_)
        definition = type_.__strawberry_definition__
        return definition.is_input and any(_takes_uuid(f.type, seen) for f in definition.fields)
    return False


def refuse_bad_uuids(*root_types: type) -> None:
    """Give every field of ``root_types`` that takes a UUID the ``RefuseBadUUIDs`` extension."""
    for root in root_types:
        for field in root.__strawberry_definition__.fields:
            # The resolver's own arguments: reading ``field.arguments`` this early would fix
            # them before the extensions that add arguments of their own (relay's ``node``).
            resolver = field.base_resolver
            if resolver is None:
                continue
            if any(_takes_uuid(argument.type, set()) for argument in resolver.arguments):
                mutation = isinstance(field, DjangoMutationBase) and field.handle_errors
                field.extensions.append(RefuseBadUUIDs(mutation=mutation))
