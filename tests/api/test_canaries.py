"""Canaries: the strawberry and strawberry-django internals the project overrides or relies on.

Each test names what the project does with the internal, and fails with that message when an
upgrade changes it: read the code it names before adapting the test. Behaviour is tested where
it can be; a signature where the signature is the contract (a method overridden or called with
keyword arguments).
"""

import contextvars
import inspect
import sys

import pytest
import strawberry
from django.test import Client
from graphql import parse, validate
from strawberry import auto, relay
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as create_alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as create_depth_rule
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField
from strawberry.utils.str_converters import to_camel_case
from strawberry_django import optimizer
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.optimizer import (
    DjangoOptimizerExtension,
    is_optimized,
    is_optimized_by_prefetching,
    mark_optimized_by_prefetching,
)
from strawberry_django.relay import DjangoListConnection

from api import views
from api.fields import DjangoField, django_type
from api.rows import Row, resolves_rows
from api.types import CountableConnection
from apps.catalog.models import Product
from apps.catalog.types import ProductImageType, ProductType
from schema.schema import RootOptimizerExtension, schema


def _signature(function) -> str:
    """``function``'s parameters, without annotations or defaults: ``(nodes, *, info)``."""
    parameters = inspect.signature(function).parameters.values()
    bare = [
        parameter.replace(annotation=parameter.empty, default=parameter.empty)
        for parameter in parameters
    ]
    return str(inspect.Signature(bare))


def _field(type_, python_name: str):
    return next(f for f in type_.__strawberry_definition__.fields if f.python_name == python_name)


# --- api/fields.py: DjangoField takes strawberry's basic-field path ----------------------------


def test_is_basic_field_is_the_property_djangofield_overrides():
    base = inspect.getattr_static(StrawberryDjangoField, "is_basic_field", None)
    assert isinstance(base, property), (
        "StrawberryDjangoField.is_basic_field is no longer a property: DjangoField "
        "(api/fields.py) overrides it to take strawberry's basic-field path"
    )
    assert isinstance(inspect.getattr_static(DjangoField, "is_basic_field"), property)


def test_a_basic_field_resolves_through_get_result_with_info_none(db, monkeypatch):
    from tests.catalog.factories import ProductFactory

    ProductFactory(name="Kettle")
    name = _field(ProductType, "name")
    assert name.is_basic_field is True
    calls = []
    get_result = DjangoField.get_result

    def spy(self, source, info, args, kwargs):
        if self is name:
            calls.append((info, args, kwargs))
        return get_result(self, source, info, args, kwargs)

    monkeypatch.setattr(DjangoField, "get_result", spy)
    # The model path (a selection the read model cannot serve): name resolves on an instance.
    result = schema.execute_sync(
        "{ products(first: 1) { edges { node { name variants { sku } } } } }",
        context_value=_context(),
    )

    assert result.errors is None
    assert result.data["products"]["edges"][0]["node"]["name"] == "Kettle"
    assert calls == [(None, [], {})], (
        "strawberry no longer calls a basic field's get_result(source, info=None, args=[], "
        "kwargs={}) (strawberry/schema/schema_converter.py from_resolver): DjangoField "
        "(api/fields.py) relies on it"
    )


def test_get_result_has_the_signature_the_project_overrides():
    for field_class in (StrawberryDjangoField, StrawberryField):
        assert _signature(field_class.get_result) == "(self, source, info, args, kwargs)", (
            f"{field_class.__name__}.get_result changed its signature: DjangoField "
            "(api/fields.py) and StablyOrderedField (api/types.py) override it"
        )
    assert _signature(StrawberryDjangoField.get_queryset) == "(self, queryset, info, **kwargs)", (
        "StablyOrderedField (api/types.py) overrides get_queryset(queryset, info, **kwargs)"
    )


def test_the_field_attributes_djangofield_reads():
    category, url = _field(ProductType, "category"), _field(ProductImageType, "url")
    resolver = url.base_resolver

    assert (
        (category.is_relation, category.django_name, category.base_resolver),
        category.origin_django_type.model,
        (resolver.info_parameter is not None, resolver.root_parameter),
        (url.extensions, url.arguments, url.is_async),
    ) == ((True, "category", None), Product, (True, None), ([], [], False)), (
        "DjangoField._is_plain (api/fields.py) reads is_relation, django_name, base_resolver "
        "(its info_parameter and root_parameter), origin_django_type, extensions, arguments "
        "and is_async"
    )


# --- api/types.py: the optimizer's context variable and queryset marks --------------------------


def test_the_optimizer_is_a_context_variable_with_set_and_reset():
    assert isinstance(optimizer.optimizer, contextvars.ContextVar), (
        "strawberry_django.optimizer.optimizer is no longer a ContextVar: StablyOrderedField "
        "(api/types.py) sets it to None to keep the optimizer off a page read as rows"
    )
    token = optimizer.optimizer.set(None)
    optimizer.optimizer.reset(token)


def test_the_optimizer_extension_sets_the_context_variable_fields_read(db):
    seen = []

    @strawberry.type
    class Query:
        @strawberry.field
        def probe(self) -> int:
            seen.append(optimizer.optimizer.get())
            return 1

    strawberry.Schema(query=Query, extensions=[RootOptimizerExtension]).execute_sync("{ probe }")

    assert len(seen) == 1
    assert isinstance(seen[0], RootOptimizerExtension), (
        "the optimizer extension no longer publishes itself in strawberry_django.optimizer."
        "optimizer during execution: StrawberryDjangoField.get_queryset reads it, and "
        "StablyOrderedField (api/types.py) clears it for pages read as rows"
    )
    assert optimizer.optimizer.get() is None


@pytest.mark.parametrize(
    ("node", "optimized"),
    [("name", False), ("name variants { sku }", True)],  # read as rows / as instances
)
def test_a_page_is_optimized_unless_the_context_variable_is_cleared(
    db, monkeypatch, node, optimized
):
    from tests.catalog.factories import ProductFactory

    ProductFactory()
    seen = []
    resolve_connection = CountableConnection.resolve_connection.__func__

    def spy(cls, nodes, **kwargs):
        seen.append(is_optimized(nodes))
        return resolve_connection(cls, nodes, **kwargs)

    monkeypatch.setattr(CountableConnection, "resolve_connection", classmethod(spy))
    result = schema.execute_sync(
        f"{{ products(first: 1) {{ edges {{ node {{ {node} }} }} }} }}", context_value=_context()
    )

    assert result.errors is None
    assert seen == [optimized], (
        "StrawberryDjangoField.get_queryset no longer optimizes through the context variable "
        "strawberry_django.optimizer.optimizer: StablyOrderedField (api/types.py) clears it "
        "for a page read as rows, and needs it for the others"
    )


def test_queryset_marks_of_the_optimizer():
    queryset = Product.objects.all()
    assert (is_optimized(queryset), is_optimized_by_prefetching(queryset)) == (False, False)

    assert mark_optimized_by_prefetching(queryset) is queryset
    assert (is_optimized(queryset), is_optimized_by_prefetching(queryset)) == (True, True), (
        "mark_optimized_by_prefetching/is_optimized_by_prefetching/is_optimized changed: "
        "apps/cart/types.py marks its prefetch, api/types.py reads the marks"
    )
    # A marked queryset is used as given: no type get_queryset, no optimizer (apps/cart/types.py).
    assert _field(ProductType, "images").get_queryset(queryset, info=None) is queryset


# --- api/types.py: connections -----------------------------------------------------------------


def test_cursors_are_base64_of_the_edge_prefix_and_an_offset(db):
    from tests.catalog.factories import ProductFactory

    ProductFactory(), ProductFactory()
    result = schema.execute_sync(
        "{ products(first: 2) { edges { cursor } } }", context_value=_context()
    )

    assert relay.Edge.CURSOR_PREFIX == "arrayconnection"
    cursors = [edge["cursor"] for edge in result.data["products"]["edges"]]
    assert [relay.from_base64(cursor) for cursor in cursors] == [
        ("arrayconnection", "0"),
        ("arrayconnection", "1"),
    ], "_check_cursor (api/types.py) accepts only base64('arrayconnection:<offset>')"
    with pytest.raises(ValueError):
        relay.from_base64("not base64!")


def test_an_edge_node_can_be_replaced():
    edge = relay.Edge(cursor="c", node={"pk": 1})
    # CountableConnection.resolve_connection (api/types.py) puts a page's rows in its edges.
    edge.node = Row(pk=1)

    assert edge.node.pk == 1, "relay.Edge.node can no longer be replaced (api/types.py does)"


def test_resolve_connection_takes_the_keyword_arguments_countableconnection_passes():
    signature = "(nodes, *, info, before, after, first, last, **kwargs)"
    assert _signature(DjangoListConnection.resolve_connection) == signature, (
        "DjangoListConnection.resolve_connection changed its signature: CountableConnection "
        "(api/types.py) overrides it and calls it with a values() queryset"
    )


def test_total_count_falls_back_on_the_connection_nodes(db):
    from tests.catalog.factories import ProductFactory

    for _ in range(3):
        ProductFactory()
    # Read as rows: the edges' nodes are rows, totalCount comes from connection.nodes.
    result = schema.execute_sync(
        "{ products(first: 2) { totalCount edges { node { name } } } }",
        context_value=_context(),
    )

    assert result.errors is None
    assert result.data["products"]["totalCount"] == 3, (
        "DjangoListConnection.total_count no longer counts connection.nodes when the edges' "
        "nodes carry no count: CountableConnection (api/types.py) sets nodes for rows"
    )


# --- api/rows.py: rows resolve as instances -----------------------------------------------------


class _ProbeRow(Row):
    pass


@django_type(Product, name="CanaryProduct")
@resolves_rows(Product, _ProbeRow)
class _CanaryProduct(relay.Node):
    id: relay.NodeID[int]
    name: auto


def test_resolve_id_and_is_type_of_are_the_hooks_resolves_rows_sets():
    signature = _signature(relay.Node.resolve_id)
    assert signature == "(root, *, info)", (
        f"relay.Node.resolve_id is now {signature}: resolves_rows (api/rows.py) replaces it"
    )
    assert isinstance(inspect.getattr_static(relay.Node, "resolve_id"), classmethod)
    # strawberry-django keeps a type's own hooks instead of its defaults.
    assert _CanaryProduct.resolve_id(_ProbeRow(pk=7), info=None) == "7"
    assert _CanaryProduct.is_type_of(_ProbeRow(pk=7), None) is True


def test_a_row_resolves_as_the_type_it_stands_for():
    @strawberry.type
    class Query:
        @strawberry.field
        def item(self) -> _CanaryProduct:
            return _ProbeRow(pk=7, name="Pan")

    result = strawberry.Schema(query=Query).execute_sync("{ item { id name } }")

    assert result.errors is None, (
        "a row no longer passes for its type (is_type_of) or its id no longer resolves from "
        f"resolve_id: see resolves_rows in api/rows.py. {result.errors}"
    )
    assert result.data == {"item": {"id": relay.to_base64("CanaryProduct", 7), "name": "Pan"}}


def test_selected_fields_are_the_nodes_rows_reads():
    captured = []

    @strawberry.type
    class Item:
        name: str
        size: int

    @strawberry.type
    class Query:
        @strawberry.field
        def item(self, info: strawberry.Info) -> Item:
            captured.extend(info.selected_fields)
            return Item(name="a", size=1)

    document = """
      { item { name ...more ... on Item { size } } }
      fragment more on Item { label: name }
    """
    result = strawberry.Schema(query=Query).execute_sync(document)

    assert result.errors is None
    [item] = captured
    assert isinstance(item, SelectedField)
    assert (item.name, item.alias, item.arguments, item.directives) == ("item", None, {}, {})
    name, spread, inline = item.selections
    assert (type(name), name.name, name.selections) == (SelectedField, "name", [])
    assert (type(spread), spread.name, spread.type_condition) == (FragmentSpread, "more", "Item")
    assert (spread.selections[0].name, spread.selections[0].alias) == ("name", "label")
    assert (type(inline), inline.type_condition) == (InlineFragment, "Item")
    assert [field.name for field in inline.selections] == ["size"], (
        "strawberry.types.nodes changed: selection_fits, selected and selected_names "
        "(api/rows.py) and the orders payload (apps/orders/mutations.py) read it"
    )


def test_to_camel_case_names_fields_as_the_schema_does():
    # apps/orders/mutations.py names the order's relations with it.
    assert to_camel_case("default_shipping_address") == "defaultShippingAddress"
    assert "createdAt" in schema._schema.type_map["Product"].fields


# --- schema/schema.py ---------------------------------------------------------------------------


def test_the_depth_and_alias_rules_are_built_by_create_validator():
    assert _signature(create_depth_rule) == "(max_depth, should_ignore, callback)"
    assert _signature(create_alias_rule) == "(max_alias_count)", (
        "the create_validator functions changed: build_extensions (schema/schema.py) calls them"
    )
    deep = parse("{ categories { children { children { name } } } }")
    aliases = parse("{ a: categories { name } b: categories { name } c: categories { name } }")

    assert validate(schema._schema, deep, [create_depth_rule(3, None, None)]) == []
    assert len(validate(schema._schema, deep, [create_depth_rule(2, None, None)])) == 1
    assert validate(schema._schema, aliases, [create_alias_rule(3)]) == []
    assert len(validate(schema._schema, aliases, [create_alias_rule(2)])) == 1


def _codes_of_the_stack_while_resolving(extension) -> set:
    codes = set()

    @strawberry.type
    class Query:
        @strawberry.field
        def probe(self) -> int:
            frame = sys._getframe()
            while frame is not None:
                codes.add(frame.f_code)
                frame = frame.f_back
            return 1

    result = strawberry.Schema(query=Query, extensions=[extension]).execute_sync("{ probe }")
    assert result.errors is None
    return codes


def test_an_extension_with_the_base_resolve_adds_no_middleware(db):
    assert RootOptimizerExtension.resolve is SchemaExtension.resolve
    with_middleware = _codes_of_the_stack_while_resolving(DjangoOptimizerExtension)
    without = _codes_of_the_stack_while_resolving(RootOptimizerExtension)

    assert DjangoOptimizerExtension.resolve.__code__ in with_middleware  # the control
    assert SchemaExtension.resolve.__code__ not in without, (
        "strawberry now runs SchemaExtension.resolve as a middleware: RootOptimizerExtension "
        "(schema/schema.py) sets resolve = SchemaExtension.resolve to skip the optimizer's "
        "per-field middleware"
    )


def test_the_schema_hooks_silkcartschema_overrides():
    assert _signature(strawberry.Schema.process_errors) == "(self, errors, execution_context)", (
        "SilkCartSchema.process_errors (schema/schema.py) overrides it"
    )


# --- api/subscriptions.py and schema/realtime.py: one answer per event -------------------------


def test_the_executor_hooks_sharedanswers_overrides():
    from graphql.execution import Executor
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

    assert issubclass(StrawberryGraphQLCoreExecutionContext, Executor)
    assert _signature(Executor.build_per_event_executor) == "(self, payload)", (
        "SharedAnswers.build_per_event_executor (api/subscriptions.py) overrides it"
    )
    assert _signature(Executor.execute_operation) == "(self, serially)", (
        "SharedAnswers.execute_operation (api/subscriptions.py) overrides it"
    )
    assert schema.execution_context_class.__name__ == "SharedAnswers"


def test_each_operation_runs_in_run_operation_in_a_task_of_its_own():
    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
        BaseGraphQLTransportWSHandler,
    )

    assert _signature(BaseGraphQLTransportWSHandler.run_operation) == "(self, operation)", (
        "RealtimeHandler.run_operation (schema/realtime.py) sets OPERATION in it"
    )
    source = inspect.getsource(BaseGraphQLTransportWSHandler.handle_subscribe)
    assert "asyncio.create_task(self.run_operation(operation))" in source, (
        "OPERATION (a context variable) is set in the operation's own task"
    )


# --- api/views.py ---------------------------------------------------------------------------------


def test_graphiql_html_holds_the_line_the_view_patches(db):
    from strawberry.http.ides import get_graphql_ide_html

    html = get_graphql_ide_html(graphql_ide="graphiql")
    assert html.count(views._GRAPHIQL_STATIC_HEADERS) == 1, (
        "strawberry's GraphiQL page no longer holds _GRAPHIQL_STATIC_HEADERS once: "
        "SilkCartGraphQLView.render_graphql_ide (api/views.py) patches that line"
    )
    served = Client().get("/graphql/", headers={"Accept": "text/html"})

    assert served.status_code == 200
    assert served.content.decode().count(views._GRAPHIQL_FRESH_CSRF) == 1


def test_the_view_hooks_silkcartgraphqlview_overrides(db):
    from strawberry.django.views import GraphQLView

    assert _signature(GraphQLView.render_graphql_ide) == "(self, request)"
    assert _signature(GraphQLView.parse_http_body) == "(self, request)", (
        "SilkCartGraphQLView (api/views.py) overrides render_graphql_ide and parse_http_body"
    )
    response = Client().post("/graphql/", data="null", content_type="application/json")

    assert response.status_code == 400  # parse_http_body is still what parses the body


# --- apps/accounts/types.py: a strawberry.lazy filter ----------------------------------------------


def test_a_lazy_filter_type_is_resolved_to_its_filter():
    from apps.accounts.types import UserType
    from apps.orders.types import OrderFilter

    orders = _field(UserType, "orders")

    assert orders.filters is OrderFilter, (
        "strawberry_django no longer resolves filters=Annotated[..., strawberry.lazy(...)]: "
        "UserType.orders (apps/accounts/types.py) passes its filter that way"
    )
    argument = schema._schema.type_map["User"].fields["orders"].args["filters"]
    assert str(argument.type) == "OrderFilter"


def test_a_lazy_filter_filters(customer_gql, customer):
    from tests.orders.factories import place_order

    place_order(user=customer, key="k-1")
    cancelled = place_order(user=customer, key="k-2")
    cancelled.status = "CANCELLED"
    cancelled.save(update_fields=["status"])

    response = customer_gql(
        "{ me { orders(first: 10, filters: {status: [CANCELLED]}) { edges { node { number } } } } }"
    )

    assert response.data["me"]["orders"]["edges"] == [{"node": {"number": cancelled.number}}]


# --- api/permissions.py ---------------------------------------------------------------------------


def test_the_permission_hook_the_coded_refusals_override():
    from strawberry_django.permissions import DjangoPermissionExtension

    signature = _signature(DjangoPermissionExtension.handle_no_permission)
    assert signature == "(self, exception, *, info)", (
        "_CodedRefusal (api/permissions.py) overrides handle_no_permission(exception, *, info)"
    )


# --- helpers --------------------------------------------------------------------------------------


def _context():
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory
    from strawberry.django.context import StrawberryDjangoContext

    request = RequestFactory().post("/graphql/")
    request.user = AnonymousUser()
    return StrawberryDjangoContext(request=request, response=None)
