"""GraphQL building blocks shared by every app: money, connections, id resolution, errors."""

import re
from decimal import ROUND_HALF_UP, Decimal, DecimalException
from typing import Any, TypeVar

import strawberry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from graphql import GraphQLError
from strawberry import relay
from strawberry.annotation import StrawberryAnnotation
from strawberry.schema.types.base_scalars import wrap_parser
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.scalar import ScalarDefinition
from strawberry_django import optimizer
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.optimizer import is_optimized, is_optimized_by_prefetching
from strawberry_django.relay import DjangoListConnection

from apps.core.errors import CoreErrorCode
from apps.core.validation import SEARCH_MAX_LENGTH

from .rows import connection_reader, reads_rows

_M = TypeVar("_M", bound=models.Model)
CENT = Decimal("0.01")


class PublicError(GraphQLError):
    """A top-level GraphQL error whose message is safe to show (never masked).

    For limits and malformed requests only; expected business failures are ``OperationInfo``.
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, extensions={"code": code})


@strawberry.type(description="An amount of money in the shop's currency.")
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal | int) -> "Money":
        return cls(
            amount=Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP),
            currency=settings.SHOP_CURRENCY,
        )


# The largest magnitude a Decimal argument may have (prices, filters): 10^15. Beyond it, or a
# NaN or an infinity, nothing of the shop could match it, and the database would fail on it.
_DECIMAL_MAX_EXPONENT = 15
_DECIMAL_MAX_LENGTH = 40


def _parse_decimal(value: str) -> Decimal:
    if len(value) > _DECIMAL_MAX_LENGTH:
        raise ValueError
    number = Decimal(value)
    if not number.is_finite() or abs(number.adjusted()) > _DECIMAL_MAX_EXPONENT:
        raise ValueError
    return number


SafeDecimal = ScalarDefinition(
    name="Decimal",
    description='A decimal number, as a string (`"19.99"`); finite, below 10^15.',
    specified_by_url=None,
    serialize=str,
    parse_value=wrap_parser(
        _parse_decimal,
        "Decimal",
        exceptions=(DecimalException, ValueError),
        include_error=False,
        accept_non_string=True,
    ),
    parse_literal=None,
    origin=Decimal,
)

_UNIQUE_KEYS = {"pk", "-pk", "id", "-id"}


class StablyOrderedField(StrawberryDjangoField):
    """A connection whose order always ends on the primary key, and whose ``ordering`` may be
    ``null`` (as if it were left out: clients pass their variables through).

    Pages are slices of an ordered query: rows that tie on the requested order (same price,
    same name) would otherwise come back in any order, so a page could repeat or skip rows.
    """

    @property
    def arguments(self) -> list[StrawberryArgument]:
        arguments = super().arguments
        ordering = self.get_ordering() if hasattr(self, "get_ordering") else None
        if ordering is None:
            return arguments
        return [
            StrawberryArgument(
                python_name="ordering",
                graphql_name=None,
                type_annotation=StrawberryAnnotation(list[ordering] | None),
                default=None,
                description="Sort keys, the first one first; null or omitted: the default order.",
            )
            if argument.python_name == "ordering"
            else argument
            for argument in arguments
        ]

    @arguments.setter
    def arguments(self, value: list[StrawberryArgument]) -> None:
        StrawberryDjangoField.arguments.fset(self, value)

    def get_result(self, source, info, args, kwargs):
        if info is not None and self.django_model and reads_rows(self.django_model, info):
            # The page will be read as rows (CountableConnection): the optimizer's plan of
            # instances and prefetches would go unused.
            disabled = optimizer.optimizer.set(None)
            try:
                return super().get_result(source, info, args, kwargs)
            finally:
                optimizer.optimizer.reset(disabled)
        return super().get_result(source, info, args, kwargs)

    def get_queryset(self, queryset, info, **kwargs):
        queryset = super().get_queryset(queryset, info, **kwargs)
        if is_optimized_by_prefetching(queryset):
            return queryset
        query = queryset.query
        ordering = list(
            query.order_by or (query.get_meta().ordering if query.default_ordering else [])
        )
        if any(isinstance(key, str) and key in _UNIQUE_KEYS for key in ordering):
            return queryset
        return queryset.order_by(*ordering, "-pk")


_CURSOR_OFFSET = re.compile(r"[0-9]{1,9}")


def _check_cursor(name: str, cursor: str | None) -> None:
    """Refuse a cursor the API did not give (the base64 of ``arrayconnection:<offset>``).

    Strawberry would fail on it deep inside the connection, an unexpected error for the client.
    An empty cursor means none, as in Strawberry.
    """
    if not cursor:
        return
    try:
        prefix, offset = relay.from_base64(cursor)
    except ValueError:
        prefix, offset = "", ""
    if prefix != relay.Edge.CURSOR_PREFIX or not _CURSOR_OFFSET.fullmatch(offset):
        raise PublicError(f"Argument '{name}' is not a valid cursor.", code=CoreErrorCode.INVALID)


@strawberry.type(name="Connection", description="A page of a list, with its total count.")
class CountableConnection(DjangoListConnection[relay.NodeType]):
    """A Relay connection whose page size errors clearly when out of bounds (1..100).

    A forward page whose selection a read model serves is read as rows (``api.rows``).
    """

    @strawberry.field(description="How many nodes the whole list holds, over every page.")
    def total_count(self) -> int:
        total = DjangoListConnection.total_count(self)
        return total or 0

    @classmethod
    def resolve_connection(
        cls, nodes, *, info, before=None, after=None, first=None, last=None, **kwargs
    ):
        for name, cursor in (("after", after), ("before", before)):
            _check_cursor(name, cursor)
        limit = settings.GRAPHQL_MAX_PAGE_SIZE
        if first is None and last is None:
            first = settings.GRAPHQL_DEFAULT_PAGE_SIZE
        for name, value in (("first", first), ("last", last)):
            if value is not None and not 0 <= value <= limit:
                raise PublicError(
                    f"Argument '{name}' must be between 0 and {limit}.",
                    code=CoreErrorCode.INVALID,
                )
        reader = None
        if (
            isinstance(nodes, models.QuerySet)
            and not is_optimized_by_prefetching(nodes)
            and (last is None or not is_optimized(nodes))
        ):
            reader = connection_reader(nodes, info)
        if reader is None:
            return super().resolve_connection(
                nodes, info=info, before=before, after=after, first=first, last=last, **kwargs
            )
        values, rows_from_values = reader
        connection = super().resolve_connection(
            values, info=info, before=before, after=after, first=first, last=last, **kwargs
        )
        rows = rows_from_values([edge.node for edge in connection.edges])
        for edge, row in zip(connection.edges, rows, strict=True):
            edge.node = row
        connection.nodes = nodes
        return connection


def search_text(value: str, *, argument: str = "search") -> str:
    """A search term, trimmed; a top-level ``invalid`` error past ``SEARCH_MAX_LENGTH``."""
    text = value.strip()
    if len(text) > SEARCH_MAX_LENGTH:
        raise PublicError(
            f"'{argument}' takes at most {SEARCH_MAX_LENGTH} characters.",
            code=CoreErrorCode.INVALID,
        )
    return text


_PK = re.compile(r"[0-9]{1,18}")


def node_pk(gid: relay.GlobalID, type_name: str) -> int | None:
    """The primary key inside ``gid`` if it names a ``type_name`` with a sane integer key."""
    if gid.type_name != type_name or not _PK.fullmatch(gid.node_id):
        return None
    return int(gid.node_id)


def not_found(field: str, what: str = "object") -> ValidationError:
    return ValidationError(
        {field: ValidationError(f"No {what} found with this id.", code=CoreErrorCode.NOT_FOUND)}
    )


def resolve_id(
    info: strawberry.Info,
    gid: relay.GlobalID,
    type_: type,
    *,
    field: str = "id",
    queryset: models.QuerySet[_M] | None = None,
) -> Any:
    """The object behind ``gid``, if it is of ``type_`` and visible to the caller.

    Visibility is the type's ``get_queryset``; ``queryset`` narrows it further (e.g. to the
    caller's own rows). Anything else answers ``not_found`` on ``field``, so that an object
    that exists but is not the caller's is indistinguishable from one that does not exist.
    """
    definition = type_.__strawberry_definition__
    pk = node_pk(gid, definition.name)
    if pk is None:
        raise not_found(field, definition.name)
    model = type_.__strawberry_django_definition__.model
    qs = queryset if queryset is not None else model._default_manager.all()
    get_queryset = getattr(type_, "get_queryset", None)
    if get_queryset is not None:
        qs = get_queryset(qs, info)
    obj = qs.filter(pk=pk).first()
    if obj is None:
        raise not_found(field, definition.name)
    return obj


def resolve_ids(
    info: strawberry.Info,
    gids: list[relay.GlobalID],
    type_: type,
    *,
    field: str,
    queryset: models.QuerySet[_M] | None = None,
) -> list[Any]:
    """Like ``resolve_id`` for a batch, in one query; ``field`` gets the index of a bad id
    (``lines.2.variantId``: pass ``"lines.{}.variantId"``)."""
    definition = type_.__strawberry_definition__
    model = type_.__strawberry_django_definition__.model
    wanted = []
    for index, gid in enumerate(gids):
        pk = node_pk(gid, definition.name)
        if pk is None:
            raise not_found(field.format(index), definition.name)
        wanted.append(pk)
    qs = queryset if queryset is not None else model._default_manager.all()
    get_queryset = getattr(type_, "get_queryset", None)
    if get_queryset is not None:
        qs = get_queryset(qs, info)
    found = {obj.pk: obj for obj in qs.filter(pk__in=wanted)}
    for index, pk in enumerate(wanted):
        if pk not in found:
            raise not_found(field.format(index), definition.name)
    return [found[pk] for pk in wanted]
