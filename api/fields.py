"""A strawberry-django field that resolves plain attributes the way plain strawberry fields do.

strawberry-django marks every field as needing its full resolver path: an ``Info`` object,
argument parsing, the extension chain and a look-up of the model attribute's descriptor, about
twice the cost of a plain strawberry field. For a field that only reads a loaded column or a
foreign key, or calls a method of the row (``priceRange``, ``inStock``), none of that is needed,
so ``DjangoField`` takes strawberry's basic-field path instead. Lists of related rows, fields
with arguments, permission extensions, async resolvers and resolvers that ask for ``info`` keep
the full path (they need the queryset hooks and the request). On a read model's row
(``api.rows``) a relation is an attribute the row already holds.

The optimizer is unaffected: it reads the fields' hints (``only``, ``annotate``) from the type
when it plans the root query, not when a field resolves.
"""

import functools
from typing import Any

import strawberry_django
from django.core.exceptions import FieldDoesNotExist
from django.db.models.fields.files import FieldFile
from strawberry.types.base import StrawberryList, StrawberryOptional
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.utils.typing import has_django_definition

from .rows import Row


def _returns_plain_value(field: StrawberryDjangoField) -> bool:
    """True when the field's type is a scalar, enum or plain strawberry type, not a list."""
    field_type = field.type
    while isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    return not isinstance(field_type, StrawberryList) and not has_django_definition(field_type)


class DjangoField(StrawberryDjangoField):
    @property
    def is_basic_field(self) -> bool:
        return self._is_plain

    @functools.cached_property
    def _is_plain(self) -> bool:
        if self.extensions or self.arguments or self.is_async:
            return False
        if self.is_relation:
            # A foreign key reads its row as an attribute (joined by the optimizer); the other
            # relations are querysets that need the type's visibility rule.
            return self.base_resolver is None and self._is_foreign_key()
        resolver = self.base_resolver
        if resolver is not None and (
            resolver.info_parameter is not None or resolver.root_parameter is not None
        ):
            return False
        return _returns_plain_value(self)

    def _is_foreign_key(self) -> bool:
        if self.origin_django_type is None:
            return False
        try:
            field = self.origin_django_type.model._meta.get_field(
                self.django_name or self.python_name
            )
        except FieldDoesNotExist:
            return False
        return field.concrete and (field.many_to_one or field.one_to_one)

    def get_result(self, source: Any, info: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if isinstance(source, Row) and self.base_resolver is None:
            # A read model's row carries its relations already read (apps/core/rows.py).
            return getattr(source, self.django_name or self.python_name)
        if info is not None or not self._is_plain:  # the full path
            return super().get_result(source, info, args, kwargs)
        if self.base_resolver is not None:
            return self.base_resolver(source)
        value = getattr(source, self.django_name or self.python_name)
        if isinstance(value, FieldFile) and not value:
            return None
        return value


django_type = functools.partial(strawberry_django.type, field_cls=DjangoField)
django_field = functools.partial(strawberry_django.field, field_cls=DjangoField)
