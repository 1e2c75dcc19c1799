"""The one GraphQL schema: every app's queries and mutations, with the limits that protect it."""

import inspect
import re
from functools import partial

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
from strawberry_django.optimizer import DjangoOptimizerExtension

from api.types import PublicError, node_pk
from apps.accounts.mutations import AccountMutation
from apps.accounts.queries import AccountQuery
from apps.cart.mutations import CartMutation
from apps.cart.queries import CartQuery
from apps.catalog.mutations import CatalogMutation
from apps.catalog.queries import CatalogQuery
from apps.core.errors import CoreErrorCode
from apps.notifications.mutations import NotificationMutation
from apps.orders.mutations import OrderMutation
from apps.orders.queries import OrderQuery
from apps.reports.queries import ReportQuery

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
class Query(AccountQuery, CatalogQuery, CartQuery, OrderQuery, ReportQuery):
    node: relay.Node | None = strawberry.relay.node(
        description="Any object by its global id, or null when it is not visible to you.",
        extensions=[UnknownIdIsNull()],
    )


@strawberry.type
class Mutation(AccountMutation, CatalogMutation, CartMutation, OrderMutation, NotificationMutation):
    pass


class RootOptimizerExtension(DjangoOptimizerExtension):
    """strawberry-django's optimizer without its per-field middleware.

    Querysets of strawberry-django fields (root lists and connections, nested relations) are
    still optimized by the fields themselves; resolvers that return a queryset of their own call
    ``strawberry_django.optimizer.optimize`` (each has a query-count test). Skipping the
    middleware saves its call on every resolved field (see PERFORMANCE.md).
    """

    resolve = SchemaExtension.resolve


_NUL_ESCAPE = re.compile(r"\\u(?:0000|\{0+\})", re.IGNORECASE)


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _literals(node):
    """Every string literal of a document."""
    if isinstance(node, StringValueNode):
        yield node.value
    for key in getattr(node, "keys", ()):
        child = getattr(node, key, None)
        for item in child if isinstance(child, tuple | list) else (child,):
            if isinstance(item, Node):
                yield from _literals(item)


class NoNulCharacter(SchemaExtension):
    """Refuse the NUL character (U+0000) in any string, literal or variable.

    PostgreSQL can neither store it in text nor compare text with it: any lookup or write with
    one fails, an unexpected error for the client. No value of the API has one (Django's forms
    refuse it the same way).
    """

    def on_execute(self):
        context = self.execution_context
        query = context.query or ""
        if _has_nul(context.variables) or (
            ("\x00" in query or _NUL_ESCAPE.search(query))
            and any("\x00" in text for text in _literals(context.graphql_document))
        ):
            error = PublicError(
                "Strings cannot contain the NUL character (U+0000).", code=CoreErrorCode.INVALID
            )
            context.result = ExecutionResult(data=None, errors=[error])  # nothing runs
        yield


def should_mask_error(error: GraphQLError) -> bool:
    """Keep expected errors readable (syntax, validation, limits, permission); hide the rest."""
    original = error.original_error
    if original is None:  # syntax and validation errors, limits
        return False
    return not isinstance(original, GraphQLError | PermissionDenied | ValidationError)


def build_extensions() -> list:
    # The depth and alias limits are validation rules. They are built once, here, rather than
    # by QueryDepthLimiter/MaxAliasesLimiter on every request: the validation cache is keyed by
    # the rule classes, and new classes per request would make every request a cache miss.
    rules = [
        create_depth_rule(settings.GRAPHQL_MAX_DEPTH, None, None),
        create_alias_rule(settings.GRAPHQL_MAX_ALIASES),
    ]
    if not settings.GRAPHQL_INTROSPECTION:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions = [
        RootOptimizerExtension,
        partial(ParserCache, maxsize=512),
        partial(AddValidationRules, rules),
        partial(ValidationCache, maxsize=512),
        partial(MaxTokensLimiter, max_token_count=settings.GRAPHQL_MAX_TOKENS),
        NoNulCharacter,
    ]
    if settings.GRAPHQL_MASK_ERRORS:
        extensions.append(partial(MaskErrors, should_mask_error=should_mask_error))
    return extensions


class SilkCartSchema(strawberry.Schema):
    def execute_sync(self, *args, **kwargs):
        return run_in_roomy_frame(super().execute_sync, args, kwargs)

    def process_errors(self, errors, execution_context=None) -> None:
        """Log only unexpected errors (with their traceback); a client's mistakes are not ours."""
        super().process_errors([e for e in errors if should_mask_error(e)], execution_context)


schema = SilkCartSchema(
    query=Query,
    mutation=Mutation,
    extensions=build_extensions(),
    config=StrawberryConfig(relay_max_results=settings.GRAPHQL_MAX_PAGE_SIZE),
)
