"""A cost limit: a document whose estimated cost is over the caller's limit is refused unrun.

Depth, alias and token limits bound a document's shape, not its work: thirty aliases of
``products(first: 100)`` each nesting ``category { products(first: 100) }`` pass all three and
ask for 300,000 products. The cost counts what a document asks for before anything runs:

- every field costs 1 (introspection fields cost nothing: introspection has its own switch);
- a connection (a field with ``first``/``last`` returning a ``...Connection``) costs 1 plus its
  page (``edges``, ``nodes``) times the page size it asks for (``first`` or ``last``, from the
  document or its variables; the default page size when neither is given), plus the rest;
- a plain list (``variants``, ``lines``) costs 1 plus its selection times ``LIST_FACTOR``, an
  estimate of its length;
- fragments count where they are spread; the branches of a union or interface add up.

Staff, who page through orders and reports, get ``GRAPHQL_MAX_COST_STAFF``; everyone else
``GRAPHQL_MAX_COST``. A refused document answers ``query_too_complex`` with its cost.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from strawberry.extensions import SchemaExtension

from api.types import PublicError
from apps.core.errors import CoreErrorCode

LIST_FACTOR = 10
_PAGE_FIELDS = frozenset({"edges", "nodes"})


class _Cost:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        page_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.page_size = page_size

    def selection_set(
        self, selection_set: SelectionSetNode | None, parent, seen=(), page: bool | None = None
    ) -> int:
        """The cost of a selection. Directly under a connection, ``page`` picks its page
        (``edges``, ``nodes``: True) or the rest (``pageInfo``, ``totalCount``: False)."""
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                in_page = selection.name.value in _PAGE_FIELDS
                if page is None or page == in_page:
                    total += self.field(selection, parent, seen, in_page=page is True)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, on or parent, seen, page)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # unknown or cyclic: validation says so
                    continue
                on = self.schema.get_type(fragment.type_condition.name.value) or parent
                total += self.selection_set(fragment.selection_set, on, (*seen, name), page)
        return total

    def field(self, node: FieldNode, parent, seen, *, in_page: bool = False) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        definition: GraphQLField | None = getattr(parent, "fields", {}).get(name)
        if definition is None:  # an unknown field: validation refuses the document
            return 1
        named = get_named_type(definition.type)
        if named.name.endswith("Connection") and {"first", "last"} & set(definition.args):
            # The page's edges (or nodes) are its list: the page size counts them.
            page = self.selection_set(node.selection_set, named, seen, page=True)
            rest = self.selection_set(node.selection_set, named, seen, page=False)
            return 1 + self._page_size(node) * page + rest
        inner = self.selection_set(node.selection_set, named, seen)
        if isinstance(get_nullable_type(definition.type), GraphQLList) and not in_page:
            return 1 + LIST_FACTOR * inner
        return 1 + inner

    def _page_size(self, node: FieldNode) -> int:
        sizes = []
        for argument in node.arguments or ():
            if argument.name.value not in ("first", "last"):
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                value = self.variables.get(value.name.value)
            elif isinstance(value, IntValueNode):
                value = int(value.value)
            if isinstance(value, int) and not isinstance(value, bool):
                sizes.append(max(value, 0))
        return max(sizes) if sizes else self.page_size


def document_cost(
    schema: GraphQLSchema,
    document,
    *,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> int:
    """The estimated cost of the operation of ``document`` that would run."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [op for op in operations if op.name and op.name.value == operation_name]
    cost = _Cost(schema, fragments, variables or {}, settings.GRAPHQL_DEFAULT_PAGE_SIZE)
    total = 0
    for operation in operations[:1] if operation_name is not None else operations:
        root: GraphQLObjectType | None = schema.get_root_type(operation.operation)
        total += cost.selection_set(operation.selection_set, root)
    return total


def cost_limit(user) -> int:
    staff = getattr(user, "is_staff", False) and user.is_authenticated
    return settings.GRAPHQL_MAX_COST_STAFF if staff else settings.GRAPHQL_MAX_COST


class CostLimit(SchemaExtension):
    """Refuse, before it runs, an operation whose cost is over the caller's limit."""

    def on_execute(self):
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.result is None:
            cost = document_cost(
                context.schema._schema,
                document,
                variables=context.variables,
                operation_name=context.operation_name,
            )
            limit = settings.GRAPHQL_MAX_COST
            if cost > limit:  # only then is the caller worth a look (it may load the session)
                request = getattr(context.context, "request", None)
                limit = cost_limit(getattr(request, "user", None))
            if cost > limit:
                error = PublicError(
                    f"This query is too complex: its cost is {cost}, and the limit is {limit}. "
                    "Ask for smaller pages or fewer fields.",
                    code=CoreErrorCode.QUERY_TOO_COMPLEX,
                )
                error.extensions.update(cost=cost, limit=limit)
                context.result = ExecutionResult(data=None, errors=[error])  # nothing runs
        yield
