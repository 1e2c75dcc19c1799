"""The one GraphQL schema: every app's queries and mutations, with the limits that protect it."""

import inspect
import itertools
import re
from decimal import Decimal
from functools import partial
from uuid import UUID

import strawberry
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from graphql import ExecutionResult, GraphQLError, Node, StringValueNode
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
    FieldExtension,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as create_alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as create_depth_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult as StrawberryResult
from strawberry.types.graphql import OperationType
from strawberry_django.optimizer import DjangoOptimizerExtension

from api.subscriptions import SharedAnswers
from api.types import PublicError, SafeDecimal, node_pk
from apps.accounts.mutations import AccountMutation
from apps.accounts.queries import AccountQuery
from apps.bookings.mutations import BookingMutation
from apps.bookings.queries import BookingQuery
from apps.bookings.subscriptions import BookingSubscription
from apps.cart.mutations import CartMutation
from apps.cart.queries import CartQuery
from apps.catalog.mutations import CatalogMutation
from apps.catalog.queries import CatalogQuery
from apps.core.errors import CoreErrorCode
from apps.core.outage import is_database_outage
from apps.delivery.mutations import DeliveryMutation
from apps.delivery.queries import DeliveryQuery
from apps.notifications.mutations import NotificationMutation
from apps.notifications.subscriptions import NotificationSubscription
from apps.orders.mutations import OrderMutation
from apps.orders.queries import OrderQuery
from apps.orders.subscriptions import OrderSubscription
from apps.reports.queries import ReportQuery

from .arguments import LenientUUID, refuse_bad_uuids
from .cost import CostLimit
from .errors import ErrorCode
from .stack import run_in_roomy_frame


class UnknownIdIsNull(FieldExtension):
    """``node(id:)`` answers null, as for an object you cannot see, when the id names no Node
    object type (an unknown type, another type, an interface) or carries a key that is not an
    integer (every key is); Strawberry would fail."""

    @staticmethod
    def _resolvable(info: strawberry.Info, gid: relay.GlobalID) -> bool:
        try:
            gid.resolve_type(info)
        except relay.GlobalIDValueError:
            return False
        if info.schema.get_type_by_name(gid.type_name).is_interface:
            return False
        return node_pk(gid, gid.type_name) is not None

    def resolve(self, next_, source, info: strawberry.Info, **kwargs):
        return next_(source, info, **kwargs) if self._resolvable(info, kwargs["id"]) else None

    async def resolve_async(self, next_, source, info: strawberry.Info, **kwargs):
        if not self._resolvable(info, kwargs["id"]):
            return None
        result = next_(source, info, **kwargs)
        return await result if inspect.isawaitable(result) else result


@strawberry.type
class Query(
    AccountQuery, CatalogQuery, BookingQuery, CartQuery, OrderQuery, DeliveryQuery, ReportQuery
):
    node: relay.Node | None = strawberry.relay.node(
        description="Any object by its global id, or null when it is not visible to you.",
        extensions=[UnknownIdIsNull()],
    )


@strawberry.type
class Mutation(
    AccountMutation,
    CatalogMutation,
    BookingMutation,
    CartMutation,
    OrderMutation,
    DeliveryMutation,
    NotificationMutation,
):
    pass


@strawberry.type(
    description="Served over WebSocket at /graphql/ (graphql-transport-ws); see docs/realtime.md."
)
class Subscription(NotificationSubscription, OrderSubscription, BookingSubscription):
    pass


class RootOptimizerExtension(DjangoOptimizerExtension):
    """strawberry-django's optimizer without its per-field middleware.

    Querysets of strawberry-django fields (root lists and connections, nested relations) are
    still optimized by the fields themselves; resolvers that return a queryset of their own call
    ``strawberry_django.optimizer.optimize`` (each has a query-count test). Skipping the
    middleware saves its call on every resolved field (see docs/performance.md).
    """

    resolve = SchemaExtension.resolve


# Escapes of NUL and of UTF-16 surrogates in GraphQL string literals (``\u0000``, ``\ud800``).
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|\{0+\}|[dD][89a-fA-F][0-9a-fA-F]{2})")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "Strings cannot contain the NUL character (U+0000)."
    if _SURROGATE.search(text):
        return "Strings cannot contain lone surrogates (U+D800 to U+DFFF)."
    if len(text) > settings.GRAPHQL_MAX_STRING_LENGTH:
        return f"Strings are at most {settings.GRAPHQL_MAX_STRING_LENGTH:,} characters."
    return None


def _strings(value):
    """Every string of a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _literals(node):
    """Every string literal of a document."""
    if isinstance(node, StringValueNode):
        yield node.value
    for key in getattr(node, "keys", ()):
        child = getattr(node, key, None)
        for item in child if isinstance(child, tuple | list) else (child,):
            if isinstance(item, Node):
                yield from _literals(item)


class SafeStrings(SchemaExtension):
    """Refuse, before anything runs, a string no value of the API can be: one holding the NUL
    character or a lone UTF-16 surrogate, or one longer than ``GRAPHQL_MAX_STRING_LENGTH``.

    PostgreSQL can neither store nor compare text with a NUL, and a lone surrogate cannot be
    encoded at all: either would fail deep in a query, an unexpected error for the client.
    Fields that take shorter text check their own limits (notes, searches).
    """

    def on_execute(self):
        context = self.execution_context
        query = context.query or ""
        strings = _strings(context.variables)
        if (
            "\x00" in query
            or _SUSPECT_ESCAPE.search(query)
            or _SURROGATE.search(query)
            or len(query) > settings.GRAPHQL_MAX_STRING_LENGTH
        ):
            strings = itertools.chain(strings, _literals(context.graphql_document))
        for text in strings:
            if problem := _string_problem(text):
                error = PublicError(problem, code=CoreErrorCode.INVALID)
                context.result = ExecutionResult(data=None, errors=[error])  # nothing runs
                break
        yield


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _without_suggestions(errors) -> None:
    for error in errors or ():
        error.message = _SUGGESTION.sub("", error.message)


class NoSuggestions(SchemaExtension):
    """Without introspection, errors name no field, argument or value the client did not send:
    "Did you mean 'isStaff'?" would hand out the schema piece by piece."""

    def on_validate(self):
        yield
        _without_suggestions(self.execution_context.pre_execution_errors)

    def on_execute(self):
        yield
        result = self.execution_context.result
        _without_suggestions(getattr(result, "errors", None))


def should_mask_error(error: GraphQLError) -> bool:
    """Keep expected errors readable (syntax, validation, limits, permission); hide the rest."""
    original = error.original_error
    if original is None:  # syntax and validation errors, limits
        return False
    return not isinstance(original, GraphQLError | PermissionDenied | ValidationError)


class DatabaseOutage(SchemaExtension):
    """Mark the request when an error of its result says the database is unreachable: the
    view then answers a JSON 503 (``apps.core.outage``). Listed after MaskErrors, so that it
    sees the errors before they are masked."""

    def on_operation(self):
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None) or ()
        if any(is_database_outage(error.original_error) for error in errors):
            request = getattr(self.execution_context.context, "request", None)
            if request is not None:
                request.database_unavailable = True


def build_extensions() -> list:
    # The depth and alias limits are validation rules. They are built once, here, rather than
    # by QueryDepthLimiter/MaxAliasesLimiter on every request: the validation cache is keyed by
    # the rule classes, and new classes per request would make every request a cache miss.
    rules = [
        create_depth_rule(settings.GRAPHQL_MAX_DEPTH, None, None),
        create_alias_rule(settings.GRAPHQL_MAX_ALIASES),
    ]
    extensions = []
    if not settings.GRAPHQL_INTROSPECTION:
        rules.append(NoSchemaIntrospectionCustomRule)
        extensions.append(NoSuggestions)
    extensions += [
        RootOptimizerExtension,
        partial(ParserCache, maxsize=512),
        partial(AddValidationRules, rules),
        partial(ValidationCache, maxsize=512),
        partial(MaxTokensLimiter, max_token_count=settings.GRAPHQL_MAX_TOKENS),
        SafeStrings,
        CostLimit,
    ]
    if settings.GRAPHQL_MASK_ERRORS:
        extensions.append(partial(MaskErrors, should_mask_error=should_mask_error))
    extensions.append(DatabaseOutage)
    return extensions


_LAST = "Returns the last n items from the list, those just before the cursor `before`."
_NUMBERED_WRONG = "2) Otherwise, an error will be raised"
_NUMBERED_RIGHT = "5) Otherwise, an error will be raised"


class SilkCartSchema(strawberry.Schema):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._correct_descriptions()

    def _correct_descriptions(self) -> None:
        """Descriptions the libraries get wrong, as frontends read them in the SDL: every
        connection's ``last`` (said "after the cursor"), and the numbering of the permission
        directives' steps (the last one is 5, not 2 again)."""
        for type_ in self._schema.type_map.values():
            for field in getattr(type_, "fields", {}).values():
                last = getattr(field, "args", {}).get("last")
                if last is not None and "after the specified cursor" in (last.description or ""):
                    last.description = _LAST
        for directive in self._schema.directives:
            if directive.description and _NUMBERED_WRONG in directive.description:
                directive.description = directive.description.replace(
                    _NUMBERED_WRONG, _NUMBERED_RIGHT
                )

    def execute_sync(self, *args, **kwargs):
        # Subscriptions run over WebSocket (schema/realtime.py), never in the sync HTTP view:
        # its async resolvers cannot run there, and strawberry would answer a null field.
        allowed = kwargs.get("allowed_operation_types")
        if allowed is not None:
            kwargs["allowed_operation_types"] = set(allowed) - {OperationType.SUBSCRIPTION}
        try:
            return run_in_roomy_frame(super().execute_sync, args, kwargs)
        except InvalidOperationTypeError as error:
            if error.operation_type != OperationType.SUBSCRIPTION:
                raise
            over_websocket = PublicError(_OVER_WEBSOCKET, code=CoreErrorCode.INVALID)
            return StrawberryResult(data=None, errors=[over_websocket])

    def process_errors(self, errors, execution_context=None) -> None:
        """Log only unexpected errors (with their traceback); a client's mistakes are not ours."""
        super().process_errors([e for e in errors if should_mask_error(e)], execution_context)


_OVER_WEBSOCKET = (
    "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql/, not over HTTP."
)

refuse_bad_uuids(Query, Mutation)
schema = SilkCartSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=build_extensions(),
    config=StrawberryConfig(relay_max_results=settings.GRAPHQL_MAX_PAGE_SIZE),
    scalar_overrides={Decimal: SafeDecimal, UUID: LenientUUID},
    types=[ErrorCode],
    # subscriptions that answer an event alike execute it once (api/subscriptions.py)
    execution_context_class=SharedAnswers,
)
