"""The one GraphQL schema: every app's queries and mutations, with the limits that protect it."""

from functools import partial

import strawberry
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
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

from apps.accounts.mutations import AccountMutation
from apps.accounts.queries import AccountQuery
from apps.cart.mutations import CartMutation
from apps.cart.queries import CartQuery
from apps.catalog.mutations import CatalogMutation
from apps.catalog.queries import CatalogQuery
from apps.notifications.mutations import NotificationMutation
from apps.orders.mutations import OrderMutation
from apps.orders.queries import OrderQuery
from apps.reports.queries import ReportQuery


@strawberry.type
class Query(AccountQuery, CatalogQuery, CartQuery, OrderQuery, ReportQuery):
    node: relay.Node | None = strawberry.relay.node(
        description="Any object by its global id, or null when it is not visible to you."
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
    ]
    if settings.GRAPHQL_MASK_ERRORS:
        extensions.append(partial(MaskErrors, should_mask_error=should_mask_error))
    return extensions


class SilkCartSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Log only unexpected errors (with their traceback); a client's mistakes are not ours."""
        super().process_errors([e for e in errors if should_mask_error(e)], execution_context)


schema = SilkCartSchema(
    query=Query,
    mutation=Mutation,
    extensions=build_extensions(),
    config=StrawberryConfig(relay_max_results=settings.GRAPHQL_MAX_PAGE_SIZE),
)
