"""Property-based fuzzing of the GraphQL endpoint: ``make fuzz``.

Queries and mutations are generated from the live schema (introspection) by schemathesis and
hypothesis-graphql, and sent in-process through the project's WSGI application, so every request
crosses the real stack: the middlewares, the CSRF rules, the bearer tokens, the depth, alias and
token limits and the error masking. The database is disposable: a SQLite file in a temporary
directory (or, with FUZZ_DATABASE_URL, a fresh PostgreSQL database created next to the one named),
migrated and filled by ``seed_demo``, and removed at the end. Rate limits are off for the run.

The operations run three times: anonymously, as the demo customer and as the demo staff member,
both signed in with a bearer token from ``tokenCreate`` (``Authorization: Bearer ...``) that stays
valid for the whole run (``tokenRevoke`` is sent with a token of its own). Half of the valid
documents send their arguments as variables, as real clients do, and half get plausible values
(real ids, slugs and SKUs, emails, countries, quantities); a fifth are invalid on purpose. Ids and
tokens are often real ones, from the seeded data and from earlier responses. A few hand-written
requests add the bodies, content types and headers a generator does not make.

Every response is checked:

- the status is never 5xx;
- the body leaks nothing: no traceback, file path, SQL, database driver or exception name;
- it is a JSON object with ``data`` and/or ``errors``, and every error has a message.

An error the masking extension hid ("Unexpected error.") is reported with the server's traceback;
it fails the run with FUZZ_STRICT=1. Exit status: 0 when no check failed, 1 otherwise.

    .venv/bin/python bench/fuzz.py                       # at least FUZZ_EXAMPLES=5000 requests
    .venv/bin/python bench/fuzz.py --examples 500 --seed 1
    FUZZ_DATABASE_URL=postgres://postgres@127.0.0.1:5432/silkcart .venv/bin/python bench/fuzz.py
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import logging
import math
import os
import random
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GRAPHQL_PATH = "/graphql/"
CUSTOMER = ("customer@example.com", "Customer!2026")
STAFF = ("admin@example.com", "Admin!2026")
ROLES = ("anonymous", "customer", "staff")

# Found in a response body, these mean that internals leaked (a traceback, a path, SQL, the
# database driver or an exception class). Strings the fuzzer itself sent are not counted.
LEAK_MARKERS = (
    "Traceback",
    'File "',
    "site-packages",
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    "DELETE FROM",
    " WHERE ",
    "psycopg",
    "sqlite3",
    "django.db",
    "django.core",
    "strawberry_django",
    "IntegrityError",
    "OperationalError",
    "ProgrammingError",
    "DataError",
    "DatabaseError",
    "InterfaceError",
    "Exception Value",
    "Request Method:",
    "SECRET_KEY",
    "DJANGO_SETTINGS_MODULE",
)
MASKED_MESSAGE = "Unexpected error."
# Operations whose success would end the role's session: they get a bearer token of their own.
OWN_TOKEN_OPERATIONS = {"Mutation.tokenRevoke"}
NEGATIVE_SHARE = 0.2
PLAUSIBLE_SHARE = 0.5


# --- Settings and database --------------------------------------------------------------------
def configure_environment(args: argparse.Namespace, workdir: Path) -> str:
    """Point Django at a disposable database before it loads; return the database's label."""
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
    os.environ["RATELIMIT_ENABLE"] = "False"
    os.environ["LOG_FORMAT"] = "plain"
    # Hypothesis keeps its caches in the temporary directory too, not in the project.
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(workdir / "hypothesis")
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        return "postgresql"
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'fuzz.sqlite3'}"
    return "sqlite"


def create_database(label: str) -> str | None:
    """Create, migrate and seed the disposable database; return what to drop at the end."""
    from django.core.management import call_command
    from django.db import connection

    if label == "postgresql":
        # A database of its own on the same server, never the one named in the URL.
        name = connection.settings_dict["NAME"]
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{name}_fuzz_{os.getpid()}"
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        created = connection.settings_dict["NAME"]
    else:
        call_command("migrate", verbosity=0, interactive=False)
        created = None
    call_command("seed_demo", orders=40, stdout=io.StringIO())
    return created


def drop_database(created: str | None, original: str | None) -> None:
    if created is None:
        return
    from django.db import connection

    connection.close()
    connection.creation.destroy_test_db(original, verbosity=0)


# --- Server-side errors -----------------------------------------------------------------------
class CapturingHandler(logging.Handler):
    """Keeps the error records (with their tracebacks) the application logs during a request,
    and the Python warnings it raises."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[str] = []
        self.warnings: list[str] = []
        self._formatter = logging.Formatter("%(name)s: %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "py.warnings":
            self.warnings.append(record.getMessage().strip().splitlines()[0][:300])
            return
        if record.levelno < logging.ERROR:
            return
        lines = self._formatter.format(record).splitlines()
        # Without the caret lines, and only the innermost frames of a long traceback.
        lines = [line for line in lines if line.strip(" ^~")]
        if len(lines) > 24:
            lines = [*lines[:2], "    [...]", *lines[-20:]]
        self.records.append("\n".join(lines))

    def take(self) -> list[str]:
        records, self.records = self.records, []
        return records

    def take_warnings(self) -> list[str]:
        found, self.warnings = self.warnings, []
        return found


def capture_logs() -> CapturingHandler:
    handler = CapturingHandler()
    warnings.simplefilter("always")
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    logging.captureWarnings(True)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    for name in ("django", "django.request", "django.server"):
        logger = logging.getLogger(name)
        for existing in list(logger.handlers):
            logger.removeHandler(existing)
        logger.propagate = True
    return handler


# --- Values: real ids and tokens, forged ones and junk ----------------------------------------
@dataclass
class Pool:
    """Global ids, UUID tokens, slugs and SKUs known to exist: seeded, then harvested."""

    ids: list[str] = field(default_factory=list)
    by_type: dict[str, list[str]] = field(default_factory=dict)
    uuids: list[str] = field(default_factory=list)
    guest_carts: list[str] = field(default_factory=list)
    slugs: list[str] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)
    type_names: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    limit: int = 5000

    def add_id(self, value: str, type_name: str) -> None:
        if value not in self._seen and len(self.ids) < self.limit:
            self._seen.add(value)
            self.ids.append(value)
            self.by_type.setdefault(type_name, []).append(value)

    def add_uuid(self, value: str) -> None:
        if value not in self._seen and len(self.uuids) < self.limit:
            self._seen.add(value)
            self.uuids.append(value)

    def pick_id(self, index: int) -> str:
        return self.ids[index % len(self.ids)] if self.ids else "UHJvZHVjdDox"

    def pick_uuid(self, index: int) -> str:
        return self.uuids[index % len(self.uuids)] if self.uuids else _ZERO_UUID

    def harvest(self, value: Any, key: str | None = None) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                self.harvest(item, name)
        elif isinstance(value, list):
            for item in value:
                self.harvest(item, key)
        elif isinstance(value, str) and key in ("id", "token") and len(value) < 200:
            if key == "token" and _is_uuid(value):
                self.add_uuid(value)
            elif key == "id" and (decoded := _decode_gid(value)) is not None:
                self.add_id(value, decoded[0])


_ZERO_UUID = "00000000-0000-0000-0000-000000000000"


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _decode_gid(value: str) -> tuple[str, str] | None:
    try:
        type_name, _, pk = base64.b64decode(value, validate=True).decode().partition(":")
    except ValueError:
        return None
    return (type_name, pk) if type_name and pk else None


def _gid(type_name: str, pk: object) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def seed_pool(pool: Pool) -> None:
    """Every global id and token of the seeded database."""
    from apps.accounts.models import Address, User
    from apps.cart.models import Cart, CartLine
    from apps.catalog.models import Category, Product, ProductImage, ProductVariant
    from apps.notifications.models import Notification
    from apps.orders.models import Order, OrderLine

    models = {
        "Address": Address,
        "CartLine": CartLine,
        "Category": Category,
        "Notification": Notification,
        "Order": Order,
        "OrderLine": OrderLine,
        "Product": Product,
        "ProductImage": ProductImage,
        "ProductVariant": ProductVariant,
        "User": User,
    }
    pool.type_names = sorted(models)
    # Variants on sale first: the plausible values and the carts of the run pick among them.
    on_sale = ProductVariant.objects.filter(
        is_active=True, product__is_active=True, stock_quantity__gte=10
    ).values_list("pk", flat=True)
    for pk in on_sale[:100]:
        pool.add_id(_gid("ProductVariant", pk), "ProductVariant")
    for type_name, model in models.items():
        for pk in model._default_manager.values_list("pk", flat=True)[:300]:
            pool.add_id(_gid(type_name, pk), type_name)
    for model in (Cart, Order):
        for token in model._default_manager.values_list("token", flat=True)[:300]:
            pool.add_uuid(str(token))
    pool.slugs = [*Product.objects.values_list("slug", flat=True)[:50]]
    pool.slugs += Category.objects.values_list("slug", flat=True)[:20]
    pool.skus = [*ProductVariant.objects.values_list("sku", flat=True)[:50]]


# Thirty aliases of a hundred products, each nesting a hundred more: inside the depth and alias
# limits, refused by the cost limit before it runs.
COST_BOMB = (
    "{ "
    + " ".join(
        f"a{n}: products(first: 100) {{ edges {{ node {{ name category {{ products(first: 100) "
        "{ edges { node { name slug description } } } } } } }"
        for n in range(30)
    )
    + " }"
)

ODD_DECIMALS = [
    *("0", "-0", "0.001", "-1", "1e999", "-1E+400", "1e-400", "NaN", "sNaN", "Infinity"),
    *("9" * 30, "0." + "1" * 30, " 1.5", "1,5", "0x10", "", "1_000", "\u0661\u0662"),
]
ODD_DATETIMES = [
    *("0001-01-01T00:00:00", "9999-12-31T23:59:59.999999", "9999-12-31T23:59:59-12:00"),
    *("0001-01-01T00:00:00+14:00", "2026-02-30T00:00:00Z", "2026-01-01", "now", ""),
]


def register_scalars(pool: Pool) -> None:
    """Strategies for ID and the custom scalars: mostly plausible values, some hostile ones."""
    import schemathesis
    from hypothesis import strategies as st
    from schemathesis.graphql import nodes

    index = st.integers(min_value=0, max_value=2**20)
    real_ids = index.map(lambda i: pool.pick_id(i))
    forged_ids = st.builds(
        _gid,
        st.sampled_from([*pool.type_names, "Cart", "AuthToken", "Payment", "", "Nope"]),
        st.one_of(
            st.integers(min_value=-(2**70), max_value=2**70),
            st.text(max_size=30),
            st.sampled_from(["0", "-1", "1e3", "9" * 40, " 1", "1 ", "1.0", "0x1f"]),
        ),
    )
    junk = st.one_of(
        st.text(max_size=40),
        st.sampled_from(["", "=", "====", "!!", "UHJvZHVjdDo", "Tm9kZTox", "null"]),
    )
    schemathesis.graphql.scalar(
        "ID",
        st.one_of(
            real_ids.map(nodes.String),
            real_ids.map(nodes.String),
            forged_ids.map(nodes.String),
            junk.map(nodes.String),
            st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
        ),
    )

    real_uuids = index.map(lambda i: pool.pick_uuid(i))
    schemathesis.graphql.scalar(
        "UUID",
        st.one_of(
            real_uuids.map(nodes.String),
            st.uuids().map(str).map(nodes.String),
            st.sampled_from(
                [_ZERO_UUID, "urn:uuid:" + _ZERO_UUID, "{" + _ZERO_UUID + "}", "0" * 32, "0", ""]
            ).map(nodes.String),
            st.text(max_size=40).map(nodes.String),
        ),
    )

    decimal_text = st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.decimals(min_value=-1000, max_value=1000, places=2).map(str),
        st.sampled_from(ODD_DECIMALS),
        st.text(max_size=20),
    )
    schemathesis.graphql.scalar(
        "Decimal",
        st.one_of(
            decimal_text.map(nodes.String),
            st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
            st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        ),
    )

    offsets = st.sampled_from(
        [UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12, minutes=59))]
    )
    datetimes = st.builds(
        lambda moment, tz: moment.replace(tzinfo=tz).isoformat(),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
        st.none() | offsets,
    )
    recent = st.builds(
        lambda days, tz: (
            (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days)).astimezone(tz).isoformat()
        ),
        st.integers(min_value=-1500, max_value=400),
        offsets,
    )
    schemathesis.graphql.scalar(
        "DateTime",
        st.one_of(
            recent.map(nodes.String),
            datetimes.map(nodes.String),
            st.sampled_from(ODD_DATETIMES).map(nodes.String),
            st.text(max_size=30).map(nodes.String),
            st.integers().map(nodes.Int),
        ),
    )
    # A JSON request cannot carry a file: an Upload argument gets whatever a client might send.
    schemathesis.graphql.scalar(
        "Upload", st.one_of(st.text(max_size=20).map(nodes.String), st.just(nodes.Null))
    )


# --- Documents --------------------------------------------------------------------------------
# Arguments and input fields that random text almost never fills well (an email, a country, a
# SKU): in half of the valid documents, most of them get a plausible value instead, so that the
# requests get past validation into the services. By name; the type must still match.
PLAUSIBLE_STRINGS = {
    "email": [*("customer@example.com", "admin@example.com", "New.Fuzz@Example.com "), "a@b", ""],
    "password": [*(pair[1] for pair in (CUSTOMER, STAFF)), "Fuzz!Passw0rd-2026", "short"],
    "country": ["FR", "US", "DE", "FR", "US", "fr", "XX", "FRA", ""],
    "phone": ["+33612345678", "+14155550100", "+33612345678", "+1 415 555 0100", "12", ""],
    "postalCode": ["69001", "10115", "69001", "", "x" * 300],
    "city": ["Lyon", ""],
    "line1": ["1 rue de la Paix", ""],
    "fullName": ["Ada Lovelace", ""],
    "firstName": ["Ada", " "],
    "name": ["Fuzz lamp", "", "x" * 300],
    "reason": ["restock", ""],
    "note": ["leave at the door", "x" * 5000],
    "idempotencyKey": ["fuzz-key-1", "fuzz-key-2", "", "k" * 300],
    "search": ["lamp", "silk", "%", "_", "'", ""],
    "uid": ["MQ", "Mg", "", "!!"],
    "token": ["c0ffee-0000000000000000", ""],
}
PLAUSIBLE_ALIASES = {
    "newPassword": "password",
    "oldPassword": "password",
    "lastName": "firstName",
    "line2": "line1",
    "region": "city",
}
PLAUSIBLE_INTS = {
    "quantity": [1, 1, 2, 3, 0, 10, 1000, -1, 2**31 - 1, -(2**31)],
    "delta": [-1000, -5, -1, 1, 5, 2**31 - 1, -(2**31)],
    "threshold": [0, 5, 100, -1, 2**31 - 1],
    "first": [0, 1, 2, 20, 100, 101, -1],
    "last": [0, 1, 2, 100, 101, -1],
    "sortOrder": [0, 1, -1, 2**31 - 1],
    "stock": [0, 1, 50, -1, 2**31 - 1],
}
PLAUSIBLE_DECIMALS = ["0", "0.00", "1.00", "19.99", "100.00", "-1.00", "0.001", "99999999.99"]
# Which kind of object an ID argument or field most likely names, from its own name or, for a
# plain "id", from the field it belongs to.
ID_TYPES = {
    "variantId": "ProductVariant",
    "productId": "Product",
    "categoryId": "Category",
    "parent": "Category",
    "parentId": "Category",
    "lineId": "CartLine",
    "lineIds": "CartLine",
    "shippingAddressId": "Address",
    "billingAddressId": "Address",
    "ids": "Notification",
    "customer": "User",
}
ID_FIELD_PREFIXES = (
    ("productVariant", "ProductVariant"),
    ("stock", "ProductVariant"),
    ("productImage", "ProductImage"),
    ("product", "Product"),
    ("categor", "Category"),
    ("address", "Address"),
    ("order", "Order"),
    ("user", "User"),
    ("cartLines", "CartLine"),
    ("notification", "Notification"),
)


def with_typename(document, *, messages: bool = False):
    """``document`` with ``__typename`` on its root fields, to tell a payload from an error;
    with ``messages``, the messages of an OperationInfo too (for --trace)."""
    import graphql

    operation = document.definitions[0]
    selections = []
    extra = graphql.parse("{ __typename ... on OperationInfo { messages { field code } } }")
    extra = extra.definitions[0].selection_set.selections
    for selection in operation.selection_set.selections:
        if isinstance(selection, graphql.FieldNode) and selection.selection_set is not None:
            inner = (*selection.selection_set.selections, *extra[: 2 if messages else 1])
            selection = graphql.FieldNode(
                alias=selection.alias,
                name=selection.name,
                arguments=selection.arguments,
                directives=selection.directives,
                selection_set=graphql.SelectionSetNode(selections=inner),
            )
        selections.append(selection)
    operation = graphql.OperationDefinitionNode(
        operation=operation.operation,
        name=operation.name,
        variable_definitions=operation.variable_definitions,
        directives=operation.directives,
        selection_set=graphql.SelectionSetNode(selections=tuple(selections)),
    )
    return graphql.DocumentNode(definitions=(operation, *document.definitions[1:]))


def fix_one_of(document, schema, rnd: random.Random):
    """``document`` with exactly one field in each ``@oneOf`` input object (the generator does
    not know the directive, and would make most ordering arguments invalid)."""
    import graphql
    from graphql.utilities import TypeInfo, TypeInfoVisitor

    type_info = TypeInfo(schema)

    class OneOf(graphql.Visitor):
        def leave_object_value(self, node, *_args):
            input_type = type_info.get_input_type()
            named = graphql.get_named_type(input_type) if input_type else None
            if not getattr(named, "is_one_of", False):
                return None
            given = [f for f in node.fields if not isinstance(f.value, graphql.NullValueNode)]
            if len(node.fields) == 1 and given:
                return None
            if given:
                return graphql.ObjectValueNode(fields=(rnd.choice(given),))
            name, field_ = rnd.choice(list(named.fields.items()))
            field_type = graphql.get_named_type(field_.type)
            if not isinstance(field_type, graphql.GraphQLEnumType):
                return None
            value = graphql.EnumValueNode(value=rnd.choice(list(field_type.values)))
            field_node = graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=value)
            return graphql.ObjectValueNode(fields=(field_node,))

    return graphql.visit(document, TypeInfoVisitor(type_info, OneOf()))


def plausible_values(document, schema, pool: Pool, rnd: random.Random):
    """``document`` with plausible values for the arguments and input fields it knows."""
    import graphql
    from graphql.utilities import TypeInfo, TypeInfoVisitor

    type_info = TypeInfo(schema)
    fields: list[str] = []

    def value_for(name: str, field_name: str, type_name: str, node):
        if isinstance(node, graphql.ListValueNode):
            return graphql.ListValueNode(
                values=tuple(value_for(name, field_name, type_name, item) for item in node.values)
            )
        if isinstance(node, graphql.VariableNode) or rnd.random() > 0.92:
            return node
        name = PLAUSIBLE_ALIASES.get(name, name)
        if type_name == "ID":
            wanted = ID_TYPES.get(name)
            if wanted is None and name == "id":
                wanted = next((t for p, t in ID_FIELD_PREFIXES if field_name.startswith(p)), None)
            candidates = pool.by_type.get(wanted or "", [])[:100] or pool.ids
            return graphql.StringValueNode(value=rnd.choice(candidates)) if candidates else node
        if type_name == "Int" and name in PLAUSIBLE_INTS:
            return graphql.IntValueNode(value=str(rnd.choice(PLAUSIBLE_INTS[name])))
        if type_name == "Decimal":
            return graphql.StringValueNode(value=rnd.choice(PLAUSIBLE_DECIMALS))
        if type_name == "DateTime":
            # A start in the seeded year and an end after it, mostly.
            later = name in ("end", "createdBefore")
            moment = datetime(2025, 6, 1, tzinfo=UTC) + timedelta(
                days=rnd.randrange(-200, 800) if later else rnd.randrange(-400, 200),
                minutes=rnd.randrange(-1440, 1440),
            )
            offset = timezone(timedelta(hours=rnd.choice([0, 0, 2, -5, 14, -12])))
            return graphql.StringValueNode(value=moment.astimezone(offset).isoformat())
        if type_name != "String":
            return node
        if name in ("slug", "categorySlug") and pool.slugs:
            return graphql.StringValueNode(value=rnd.choice([*pool.slugs, "no-such-slug"]))
        if name == "sku" and pool.skus:
            return graphql.StringValueNode(
                value=rnd.choice([*pool.skus, f"FUZZ-{rnd.randrange(99)}"])
            )
        if name in PLAUSIBLE_STRINGS:
            return graphql.StringValueNode(value=rnd.choice(PLAUSIBLE_STRINGS[name]))
        return node

    def token_for(name: str, type_name: str, node):
        if isinstance(node, graphql.VariableNode) or rnd.random() > 0.92:
            return node
        if type_name == "UUID" and name == "cartToken":
            # The caller's own cart, or an open guest cart.
            if rnd.random() < 0.4 or not pool.guest_carts:
                return graphql.NullValueNode()
            return graphql.StringValueNode(value=rnd.choice(pool.guest_carts))
        return node

    class Plausible(graphql.Visitor):
        def enter_field(self, node, *_args):
            fields.append(node.name.value)

        def leave_field(self, node, *_args):
            fields.pop()

        def _replace(self, node):
            input_type = type_info.get_input_type()
            if input_type is None:
                return None
            named = graphql.get_named_type(input_type)
            field_name = fields[-1] if fields else ""
            if named.name == "UUID":
                value = token_for(node.name.value, named.name, node.value)
            else:
                value = value_for(node.name.value, field_name, named.name, node.value)
            return None if value is node.value else node.__class__(name=node.name, value=value)

        def leave_argument(self, node, *_args):
            return self._replace(node)

        def leave_object_field(self, node, *_args):
            return self._replace(node)

    return graphql.visit(document, TypeInfoVisitor(type_info, Plausible()))


def hoist_variables(document, schema) -> tuple[str, dict[str, Any]] | None:
    """The document with each argument sent as a variable, as clients do; None if it has none."""
    import graphql
    from graphql.utilities import TypeInfo, TypeInfoVisitor, value_from_ast_untyped

    type_info = TypeInfo(schema)
    variables: dict[str, Any] = {}
    definitions: list[graphql.VariableDefinitionNode] = []

    class Hoist(graphql.Visitor):
        def leave_argument(self, node, *_args):
            argument = type_info.get_argument()
            if argument is None or isinstance(node.value, graphql.VariableNode):
                return None
            name = f"v{len(variables)}"
            variables[name] = value_from_ast_untyped(node.value)
            definitions.append(
                graphql.VariableDefinitionNode(
                    variable=graphql.VariableNode(name=graphql.NameNode(value=name)),
                    type=graphql.parse_type(str(argument.type)),
                    directives=(),
                )
            )
            return graphql.ArgumentNode(
                name=node.name, value=graphql.VariableNode(name=graphql.NameNode(value=name))
            )

    hoisted = graphql.visit(document, TypeInfoVisitor(type_info, Hoist()))
    if not variables:
        return None
    operation = hoisted.definitions[0]
    operation = graphql.OperationDefinitionNode(
        operation=operation.operation,
        name=operation.name,
        variable_definitions=(*(operation.variable_definitions or ()), *definitions),
        directives=operation.directives,
        selection_set=operation.selection_set,
    )
    document = graphql.DocumentNode(definitions=(operation, *hoisted.definitions[1:]))
    return graphql.print_ast(document), variables


def request_strings(query: str, variables: dict[str, Any] | None) -> set[str]:
    """Every string the request carries, as sent and as GraphQL prints it in its messages."""
    import graphql

    found: set[str] = set()
    try:
        document = graphql.parse(query)
    except graphql.GraphQLError:
        found.add(query)
    else:

        class Strings(graphql.Visitor):
            def enter_string_value(self, node, *_args):
                found.add(node.value)

        graphql.visit(document, Strings())

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                found.add(str(key))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(variables)
    variants = set()
    for value in found:
        if not value:
            continue
        variants.update({value, value.strip(), json.dumps(value)[1:-1]})
        variants.add(graphql.print_ast(graphql.StringValueNode(value=value)))
    return {value for value in variants if value}


# --- Checks -----------------------------------------------------------------------------------
@dataclass
class Failure:
    kind: str
    role: str
    operation: str
    detail: str
    request: str
    response: str
    server_log: list[str]

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.operation, self.detail


def leaked_markers(body: bytes, sent: set[str]) -> list[str]:
    """The leak markers in a response body, once what the request itself sent is taken out."""
    try:
        texts = list(_strings(json.loads(body)))
    except ValueError:
        texts = [body.decode("utf-8", "replace")]
    found = []
    for text in texts:
        if not any(marker in text for marker in LEAK_MARKERS):
            continue
        for value in sorted(sent, key=len, reverse=True):
            if len(value) >= 3:
                text = text.replace(value, "")
        found.extend(marker for marker in LEAK_MARKERS if marker in text)
    return sorted(set(found))


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def shape_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return f"the body is a JSON {type(payload).__name__}, not an object"
    if "data" not in payload and "errors" not in payload:
        return "the body has neither data nor errors"
    unknown = set(payload) - {"data", "errors", "extensions"}
    if unknown:
        return f"unexpected top-level keys {sorted(unknown)}"
    errors = payload.get("errors")
    if errors is not None:
        if not isinstance(errors, list) or not errors:
            return "errors is not a non-empty list"
        for error in errors:
            if not isinstance(error, dict) or not isinstance(error.get("message"), str):
                return "an error has no message"
    data = payload.get("data")
    if data is not None and not isinstance(data, dict):
        return "data is neither an object nor null"
    return None


# --- The run ----------------------------------------------------------------------------------
@dataclass
class Stats:
    sent: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    operations: Counter = field(default_factory=Counter)
    with_errors: int = 0
    variables: int = 0
    negative: int = 0
    masked: Counter = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    masked_examples: dict[tuple[str, str], Failure] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    token_reissued: int = 0
    plausible: int = 0
    warnings: Counter = field(default_factory=Counter)
    warning_examples: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    served: Counter = field(default_factory=Counter)


class Fuzzer:
    def __init__(self, args: argparse.Namespace) -> None:
        import graphql
        import schemathesis
        from django.core.wsgi import get_wsgi_application

        self.args = args
        self.stats = Stats()
        self.pool = Pool()
        self.tainted: set[str] = set()
        self.app = get_wsgi_application()
        self.logs = capture_logs()  # after the application has configured logging
        seed_pool(self.pool)
        register_scalars(self.pool)
        # With isOneOf, which the default introspection query leaves out.
        introspection = graphql.get_introspection_query(one_of=True)
        self.schema = schemathesis.graphql.from_wsgi(
            GRAPHQL_PATH, self.app, json={"query": introspection}
        )
        self.client_schema = self.schema.client_schema
        self.operations = [result.ok() for result in self.schema.get_all_operations()]
        self.unions = {
            operation.label
            for operation in self.operations
            if isinstance(
                graphql.get_named_type(operation.definition.raw.type), graphql.GraphQLUnionType
            )
        }
        self.tokens: dict[str, str] = {}
        self.users: dict[str, Any] = {}
        self._strategies: dict[tuple[str, str], Any] = {}

    # Sessions -------------------------------------------------------------------------------
    def post(self, payload: Any, headers: dict[str, str] | None = None, **kwargs):
        from werkzeug.test import Client

        return Client(self.app).post(GRAPHQL_PATH, json=payload, headers=headers or {}, **kwargs)

    def sign_in(self, role: str) -> None:
        """A bearer token from tokenCreate, as a mobile app gets one."""
        from apps.accounts.models import User

        email, password = CUSTOMER if role == "customer" else STAFF
        mutation = (
            "mutation($email: String!, $password: String!) { tokenCreate(email: $email, "
            "password: $password) { __typename ... on AuthToken { token } } }"
        )
        response = self.post(
            {"query": mutation, "variables": {"email": email, "password": password}}
        )
        token = (response.get_json() or {}).get("data", {}).get("tokenCreate", {}).get("token")
        if response.status_code != 200 or not token:
            raise SystemExit(f"tokenCreate failed for {email}: {response.get_data(as_text=True)}")
        self.tokens[role] = token
        self.users[role] = User.objects.get(email=email)

    def headers_for(self, role: str, label: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        if label in OWN_TOKEN_OPERATIONS:
            from apps.accounts import services

            _token, key = services.token_create(user=self.users[role])
            return {"Authorization": f"Bearer {key}"}
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def check_session(self, role: str, label: str, request: str) -> None:
        """The role's bearer token must survive every request but its own tokenRevoke."""
        from apps.accounts import services

        if role == "anonymous" or services.token_authenticate(key=self.tokens[role]) is not None:
            return
        self.record(
            Failure(
                "session lost",
                role,
                label,
                "the role's bearer token stopped working after this request",
                request,
                "",
                [],
            )
        )
        _token, self.tokens[role] = services.token_create(user=self.users[role])
        self.stats.token_reissued += 1

    def fill_carts(self, role: str) -> None:
        """A few carts with lines (guest carts, or the signed-in user's), for the cart and
        checkout mutations to work on."""
        variants = self.pool.by_type.get("ProductVariant", [])[:40]
        mutation = (
            "mutation($lines: [CartLineInput!]!) { cartLinesAdd(lines: $lines) "
            "{ __typename ... on Cart { token } } }"
        )
        carts = 0
        for number, variant in enumerate(variants):
            lines = [{"variantId": variant, "quantity": 1 + number % 2}]
            response = self.post(
                {"query": mutation, "variables": {"lines": lines}},
                self.headers_for(role, "Mutation.cartLinesAdd"),
            )
            payload = ((response.get_json() or {}).get("data") or {}).get("cartLinesAdd") or {}
            carts += payload.get("__typename") == "Cart"
            if carts >= (5 if role == "anonymous" else 2):
                break
        self.logs.take()
        self.logs.take_warnings()
        self.refresh_guest_carts()

    def refresh_guest_carts(self) -> None:
        from apps.cart.models import Cart

        tokens = Cart.objects.filter(user=None, status=Cart.Status.ACTIVE).values_list("token")
        self.pool.guest_carts = [str(token) for (token,) in tokens[:50]]

    # Requests -------------------------------------------------------------------------------
    def prepare(self, case, hoist: bool, seed: int) -> tuple[str, dict[str, Any] | None]:
        """The document to send: as generated, or with plausible values, or with variables."""
        import graphql

        query = case.body
        if not case.meta.generation.mode.is_positive:
            return query, None
        rnd = random.Random(seed)  # noqa: S311 - test data
        try:
            document = graphql.parse(query)
        except graphql.GraphQLError:
            return query, None
        document = fix_one_of(document, self.client_schema, rnd)
        query = graphql.print_ast(document)
        if graphql.validate(self.client_schema, document):
            return query, None
        traced = case.operation.label in self.args.trace
        document = with_typename(document, messages=traced and case.operation.label in self.unions)
        query = graphql.print_ast(document)
        if rnd.random() < PLAUSIBLE_SHARE:
            document = plausible_values(document, self.client_schema, self.pool, rnd)
            self.stats.plausible += 1
            query = graphql.print_ast(document)
        if hoist:
            hoisted = hoist_variables(document, self.client_schema)
            if hoisted is not None:
                return hoisted
        return query, None

    def send_case(self, case, role: str, hoist: bool, seed: int) -> None:
        label = case.operation.label
        query, variables = self.prepare(case, hoist, seed)
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
            self.stats.variables += 1
        if not case.meta.generation.mode.is_positive:
            self.stats.negative += 1
        sent = request_strings(query, variables)
        self.tainted.update(
            value for value in sent if any(marker in value for marker in LEAK_MARKERS)
        )
        self.logs.take()
        try:
            response = case.call(headers=self.headers_for(role, label), json=payload)
        except Exception as error:  # the request could not be made: a harness problem
            self.record(Failure("harness error", role, label, repr(error), _show(payload), "", []))
            return
        self.stats.sent[role] += 1
        self.stats.operations[label] += 1
        self.check(role, label, payload, response.status_code, response.content, sent)
        if label in self.args.trace:
            print(f"--- {role} {label}\n{_indent(_show(payload))}", flush=True)
            print(_indent(response.content.decode("utf-8", "replace")[:2000]), flush=True)
        if label.startswith("Mutation."):
            self.check_session(role, label, _show(payload))

    def check(
        self,
        role: str,
        label: str,
        payload: Any,
        status: int,
        body: bytes,
        sent: set[str],
        *,
        graphql_shape: bool = True,
    ) -> None:
        logs = self.logs.take()
        for warning in self.logs.take_warnings():
            # Without the values in it, so that one cause counts once.
            key = (label, re.sub(r"\(.*?\)|'.*?'|\d+", "...", warning))
            self.stats.warnings[key] += 1
            self.stats.warning_examples.setdefault(key, (warning, _show(payload)))
        self.stats.statuses[status] += 1
        request = _show(payload)
        shown = body.decode("utf-8", "replace")

        def fail(kind: str, detail: str) -> None:
            self.record(Failure(kind, role, label, detail, request, shown, logs))

        if status >= 500:
            fail("server error", f"HTTP {status}")
        leaks = leaked_markers(body, sent | self.tainted)
        if leaks:
            fail("leak", "the body contains " + ", ".join(repr(marker) for marker in leaks))
        try:
            decoded = json.loads(body)
        except ValueError:
            if graphql_shape or status == 200:
                fail("not JSON", f"HTTP {status}, {len(body)} bytes that are not JSON")
            return
        if graphql_shape or status == 200:
            problem = shape_problem(decoded)
            if problem:
                fail("not a GraphQL response", problem)
                return
        if not isinstance(decoded, dict):
            return
        self.pool.harvest(decoded.get("data"))
        errors = decoded.get("errors") or []
        if errors:
            self.stats.with_errors += 1
        elif _served(decoded.get("data")):
            self.stats.served[label] += 1
        masked = [
            error
            for error in errors
            if isinstance(error, dict) and error.get("message") == MASKED_MESSAGE
        ]
        if masked:
            path = ".".join(str(part) for part in masked[0].get("path") or [])
            detail = _last_line(logs) or "no error logged"
            kind = detail.partition(":")[0]
            self.stats.masked[(label, kind)] += 1
            failure = Failure(
                "masked internal error", role, label, f"{path}: {detail}", request, shown, logs
            )
            self.stats.masked_examples.setdefault((label, kind), failure)
            if self.args.strict:
                self.record(failure)

    def record(self, failure: Failure) -> None:
        self.stats.failures.append(failure)

    # Generation -----------------------------------------------------------------------------
    def strategy(self, operation, mode):
        key = (operation.label, mode.value)
        if key not in self._strategies:
            self._strategies[key] = operation.as_strategy(generation_mode=mode)
        return self._strategies[key]

    def run_operation(self, operation, role: str, count: int, mode, seed: int) -> int:
        """Up to ``count`` generated requests for one operation; the number sent."""
        import hypothesis
        from hypothesis import HealthCheck, Phase, Verbosity
        from hypothesis import strategies as st

        before = self.stats.sent[role]
        self.refresh_guest_carts()

        @hypothesis.settings(
            max_examples=count,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            print_blob=False,
        )
        @hypothesis.seed(seed)
        @hypothesis.given(
            case=self.strategy(operation, mode),
            hoist=st.booleans(),
            seed=st.integers(min_value=0, max_value=2**32),
        )
        def fuzz(case, hoist: bool, seed: int) -> None:
            self.send_case(case, role, hoist, seed)

        try:
            fuzz()
        except Exception as error:  # e.g. no invalid document is possible for this operation
            self.stats.skipped.append(f"{role} {operation.label} ({mode.value}): {error!r:.200}")
        return self.stats.sent[role] - before

    def run_role(self, role: str, target: int, seed: int) -> None:
        from schemathesis.generation import GenerationMode

        if role != "anonymous":
            self.sign_in(role)
        self.fill_carts(role)
        operations = self.operations
        started = time.monotonic()
        per_operation = math.ceil(target / len(operations))
        rich = list(operations)
        rounds = 0
        while self.stats.sent[role] < target and rich and rounds < 6:
            budget = (
                per_operation
                if rounds == 0
                else math.ceil((target - self.stats.sent[role]) / len(rich))
            )
            still_rich = []
            for number, operation in enumerate(rich):
                negative = math.ceil(budget * NEGATIVE_SHARE) if budget > 1 else 0
                op_seed = seed + 1000 * rounds + number
                sent = self.run_operation(
                    operation, role, budget - negative, GenerationMode.POSITIVE, op_seed
                )
                if negative:
                    sent += self.run_operation(
                        operation, role, negative, GenerationMode.NEGATIVE, op_seed + 500
                    )
                if sent >= budget:
                    still_rich.append(operation)
            rich = still_rich
            rounds += 1
        elapsed = time.monotonic() - started
        print(f"   {role}: {self.stats.sent[role]} requests in {elapsed:.0f}s", flush=True)

    # Requests a generator does not make: broken bodies, other content types, odd headers.
    def run_protocol_cases(self) -> None:
        from werkzeug.test import Client

        valid = '{"query": "{ products(first: 1) { totalCount } }"}'
        bodies = [
            ("application/json", '{"query": "{ me { id } }"'),
            ("application/json", "[]"),
            ("application/json", '[{"query": "{ me { id } }"}]'),
            ("application/json", '"{ me { id } }"'),
            ("application/json", "null"),
            ("application/json", "1e999"),
            ("application/json", b'{"query": "{ me { id } }", "x": "\xff"}'),
            ("application/json", b"\xff\xfe{\x00}"),
            ("application/json", '{"query": 1}'),
            ("application/json", '{"query": null}'),
            ("application/json", '{"query": "{ me { id } }", "variables": "x"}'),
            ("application/json", '{"query": "{ me { id } }", "variables": []}'),
            ("application/json", '{"query": "{ me { id } }", "operationName": 5}'),
            ("application/json", '{"query": "query A { me { id } }", "operationName": "B"}'),
            ("application/json", '{"query": "\\ud800"}'),
            ("application/json", '{"query": "{ product(slug: \\"\\u0000\\") { id } }"}'),
            ("application/json", '{"query": "' + "{ me { id } }" * 3000 + '"}'),
            ("application/json", '{"query": "' + "{ categories { children " * 40 + '"}'),
            (
                "application/json",
                json.dumps(
                    {
                        "query": "query($n: Int, $d: DateTime!, $e: DateTime!) { products(first: "
                        "$n) { totalCount } salesReport(start: $d, end: $e) { granularity } }",
                        "variables": {"n": 2**70, "d": [1], "e": {"a": 1}},
                    }
                ),
            ),
            (
                "application/json",
                json.dumps(
                    {
                        "query": "query($t: UUID, $i: ID!) { cart(token: $t) { id: token } "
                        "node(id: $i) { id } }",
                        "variables": {"t": {"x": []}, "i": 1.5},
                    }
                ),
            ),
            # The audit's requests: the cost bomb, JSON nested too deep, a lone surrogate in a
            # variable, numbers past every range.
            ("application/json", json.dumps({"query": COST_BOMB})),
            ("application/json", '{"query": ' + "[" * 100_000 + "]" * 100_000 + "}"),
            (
                "application/json",
                json.dumps(
                    {
                        "query": "query($q: String) { products(filters: {search: $q}) "
                        "{ totalCount } }",
                        "variables": {"q": "\ud800"},
                    }
                ),
            ),
            *(
                (
                    "application/json",
                    json.dumps(
                        {
                            "query": "query($p: Decimal) { products(filters: {priceMin: $p}) "
                            "{ totalCount } }",
                            "variables": {"p": price},
                        }
                    ),
                )
                for price in ("1e999999", "NaN", "-Infinity", "1" * 50)
            ),
            (
                "application/json",
                json.dumps(
                    {
                        "query": 'mutation { stockUpdate(variantId: "UHJvZHVjdFZhcmlhbnQ6MQ==", '
                        'delta: 2147483647, reason: "x") { __typename } }'
                    }
                ),
            ),
            ("application/json; charset=latin-1", valid),
            ("application/graphql", "{ me { id } }"),
            ("text/plain", valid),
            ("application/x-www-form-urlencoded", "query=%7B+me+%7B+id+%7D+%7D"),
            ("multipart/form-data; boundary=x", "--x\r\nbroken"),
            (
                "multipart/form-data; boundary=x",
                '--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query": 1}'
                '\r\n--x\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0": 5}'
                "\r\n--x--\r\n",
            ),
            (
                "multipart/form-data; boundary=x",
                '--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
                '{"query": "mutation($f: Upload!) { productImageUpload(productId: \\"UHJvZHVjdDox'
                '\\", image: $f) { __typename } }", "variables": {"f": null}}\r\n--x\r\n'
                'Content-Disposition: form-data; name="map"\r\n\r\n{"0": ["variables.f.x.y"]}'
                '\r\n--x\r\nContent-Disposition: form-data; name="0"; filename="a.png"\r\n'
                "Content-Type: image/png\r\n\r\nnot a png\r\n--x--\r\n",
            ),
        ]
        authorizations = [
            "Bearer",
            "Bearer ",
            "Bearer " + "a" * 5000,
            "Bearer not-a-token",
            "bearer\tx",
            "Basic YTpi",
            "Token x",
        ]
        roles = ["anonymous", *self.tokens]
        for role in roles:
            headers = (
                {} if role == "anonymous" else {"Authorization": f"Bearer {self.tokens[role]}"}
            )
            for content_type, body in bodies:
                self._raw(role, "POST", content_type, body, headers)
            for query in ("{ me { id } }", "mutation { logout }", ""):
                self._raw(role, "GET", None, None, headers, query_string={"query": query})
            self._raw(role, "GET", None, None, {**headers, "Accept": "application/json"})
            self._raw(role, "PUT", "application/json", valid, headers)
        for authorization in authorizations:
            self._raw(
                "anonymous", "POST", "application/json", valid, {"Authorization": authorization}
            )
        # A session-authenticated POST without its CSRF token is refused before GraphQL.
        client = Client(self.app)
        client.set_cookie("sessionid", "x" * 32, domain="localhost")
        response = client.post(GRAPHQL_PATH, data=valid, content_type="application/json")
        self.logs.take()
        self.stats.statuses[response.status_code] += 1
        self.stats.sent["protocol"] += 1

    def _raw(self, role, method, content_type, body, headers, query_string=None) -> None:
        from werkzeug.test import Client

        self.logs.take()
        kwargs: dict[str, Any] = {"headers": headers, "query_string": query_string}
        if isinstance(body, bytes):
            body = body.decode("utf-8", "surrogateescape")
        if content_type is not None:
            kwargs.update(data=body.encode("utf-8", "surrogateescape"), content_type=content_type)
        response = Client(self.app).open(GRAPHQL_PATH, method=method, **kwargs)
        self.stats.sent["protocol"] += 1
        label = f"{method} {content_type or ''} {_digest(body, query_string)}".strip()
        request = f"{method} {query_string or ''} {content_type or ''}\n{(body or '')[:500]}"
        sent = {body} if body else set()
        if query_string:
            sent |= request_strings(query_string["query"], None)
        self.check(
            role,
            f"protocol: {label}",
            request,
            response.status_code,
            response.get_data(),
            sent,
            graphql_shape=False,
        )


def _digest(body: str | None, query_string: dict | None) -> str:
    text = (body or "") + json.dumps(query_string)
    return "#" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def _show(payload: Any) -> str:
    text = (
        payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, indent=1)
    )
    return text if len(text) < 4000 else text[:4000] + " [...]"


def _served(data: Any) -> bool:
    """Whether every root field answered something other than null or OperationInfo."""
    if not isinstance(data, dict) or not data:
        return False
    return all(
        value is not None
        and not (isinstance(value, dict) and value.get("__typename") == "OperationInfo")
        for value in data.values()
    )


def _last_line(logs: list[str]) -> str:
    for record in logs:
        lines = [line for line in record.splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()[:300]
    return ""


# --- Report -----------------------------------------------------------------------------------
def report(fuzzer: Fuzzer, elapsed: float, seed: int, database: str) -> int:
    stats = fuzzer.stats
    generated = sum(count for role, count in stats.sent.items() if role != "protocol")
    queries = sum(1 for op in fuzzer.operations if op.label.startswith("Query."))
    print()
    print(f"== fuzz summary: seed {seed}, {database} database, {elapsed:.0f}s")
    roles = ", ".join(f"{role} {stats.sent[role]}" for role in ROLES if stats.sent[role])
    print(f"generated requests: {generated} ({roles})")
    print(
        f"   with variables: {stats.variables}, with plausible values: {stats.plausible}, "
        f"invalid on purpose: {stats.negative}"
    )
    print(f"other requests (bodies, content types, headers): {stats.sent['protocol']}")
    print(
        f"operations: {len(fuzzer.operations)} ({queries} queries, "
        f"{len(fuzzer.operations) - queries} mutations)"
    )
    print("by status: " + ", ".join(f"{code}: {n}" for code, n in sorted(stats.statuses.items())))
    print(f"responses with errors: {stats.with_errors}")
    never = sorted(op.label for op in fuzzer.operations if not stats.served[op.label])
    print(f"operations never served without an error: {', '.join(never) or 'none'}")
    masked = sum(stats.masked.values())
    print(f"masked internal errors: {masked}")
    for key, example in sorted(stats.masked_examples.items()):
        print(f"   {key[0]} ({stats.masked[key]}x), e.g. {example.detail:.200}")
    print(f"runtime warnings: {sum(stats.warnings.values())}")
    for key, (warning, request) in sorted(stats.warning_examples.items()):
        print(f"   {key[0]} ({stats.warnings[key]}x), e.g. {warning}")
        print(_indent(_indent(request[:1500])))
    for line in stats.skipped:
        print(f"   skipped: {line}")
    if stats.token_reissued:
        print(f"bearer tokens re-issued after being lost: {stats.token_reissued}")
    unique: dict[tuple[str, str, str], list[Failure]] = {}
    for failure in stats.failures:
        unique.setdefault(failure.key, []).append(failure)
    print(f"failures: {len(stats.failures)} ({len(unique)} distinct)")
    for number, group in enumerate(unique.values(), start=1):
        if number > fuzzer.args.max_reports:
            print(f"... and {len(unique) - fuzzer.args.max_reports} more distinct failures")
            break
        failure = group[0]
        print()
        print(f"--- failure {number}: {failure.kind} in {failure.operation} ({len(group)}x)")
        print(f"role: {failure.role}; {failure.detail}")
        print("request:")
        print(_indent(failure.request))
        if failure.response:
            print("response:")
            print(_indent(failure.response[:3000]))
        for record in failure.server_log[:2]:
            print("server log:")
            print(_indent(record[-4000:]))
    if fuzzer.args.strict or not masked:
        pass
    else:
        print()
        print("Masked internal errors do not fail the run; FUZZ_STRICT=1 makes them failures.")
        for (label, _kind), example in sorted(stats.masked_examples.items())[:8]:
            print()
            print(f"--- masked internal error in {label} (role {example.role})")
            print("request:")
            print(_indent(example.request))
            for record in example.server_log[:1]:
                print("server log:")
                print(_indent(record[-3000:]))
    print()
    if generated < fuzzer.args.examples:
        print(f"FAILED: only {generated} generated requests, fewer than {fuzzer.args.examples}")
        return 1
    print("FAILED" if stats.failures else "OK: no failure")
    return 1 if stats.failures else 0


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples",
        type=int,
        default=int(env.get("FUZZ_EXAMPLES") or 5000),
        help="generated requests to send at least, over all roles (FUZZ_EXAMPLES, 5000)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=int(env["FUZZ_SEED"]) if env.get("FUZZ_SEED") else None,
        help="random seed, to replay a run (FUZZ_SEED; random by default, printed)",
    )
    parser.add_argument(
        "--roles",
        default=env.get("FUZZ_ROLES") or ",".join(ROLES),
        help="comma-separated roles among anonymous, customer, staff (FUZZ_ROLES)",
    )
    parser.add_argument(
        "--database-url",
        default=env.get("FUZZ_DATABASE_URL") or None,
        help="a PostgreSQL URL: the run creates and drops a database of its own next to it "
        "(FUZZ_DATABASE_URL; a temporary SQLite file by default)",
    )
    parser.add_argument(
        "--settings",
        default=env.get("FUZZ_SETTINGS") or "backend.settings.test",
        help="settings module: DEBUG off, errors masked (FUZZ_SETTINGS, backend.settings.test)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        default=env.get("FUZZ_STRICT", "") not in ("", "0", "false", "False"),
        help="masked internal errors fail the run too (FUZZ_STRICT=1)",
    )
    parser.add_argument("--max-reports", type=int, default=20, help="distinct failures to print")
    parser.add_argument(
        "--trace",
        action="append",
        default=[],
        metavar="OPERATION",
        help="print every request and response of an operation, e.g. Query.products",
    )
    args = parser.parse_args(argv)
    args.roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    unknown = set(args.roles) - set(ROLES)
    if unknown or not args.roles:
        parser.error(f"unknown roles: {sorted(unknown)}")
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a PostgreSQL URL")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    random.seed(args.seed)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="silkcart-fuzz-"))
    database = configure_environment(args, workdir)
    created = None
    original = None
    try:
        import django

        django.setup()
        from django.db import connection

        original = connection.settings_dict["NAME"]
        print(f"== fuzz: seed {args.seed}, {database} database, roles {', '.join(args.roles)}")
        created = create_database(database)
        fuzzer = Fuzzer(args)
        print(
            f"   {len(fuzzer.operations)} operations, at least {args.examples} generated requests",
            flush=True,
        )
        per_role = math.ceil(args.examples / len(args.roles))
        for number, role in enumerate(args.roles):
            fuzzer.run_role(role, per_role, args.seed + 100_000 * number)
        fuzzer.run_protocol_cases()
        return report(fuzzer, time.monotonic() - started, args.seed, database)
    finally:
        try:
            drop_database(created, original)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
