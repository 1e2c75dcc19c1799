"""The catalog read model (apps/catalog/rows.py) and ``ProductType`` cannot drift apart.

Every field of ``ProductType``, and of the types its spec reaches, is either served by the read
model (an entry of ``PRODUCT``, which says what it reads) or declared optimizer-only, with the
reason; every entry reads a column, an annotation or a relation, the very one the type reads.
"""

from typing import Any

import pytest
from django.core.exceptions import FieldDoesNotExist
from graphql import get_named_type, parse
from strawberry.relay import Node
from strawberry.types.nodes import SelectedField

from api.rows import ANY, LEAF, Column, Computed, Related, Spec, selection_fits, shape
from apps.catalog.rows import OPTIMIZER_ONLY, PRODUCT
from schema.schema import schema
from tests.catalog.test_rows import selection

WHAT_TO_DO = "add it to PRODUCT in apps/catalog/rows.py with its column, or to OPTIMIZER_ONLY with the reason"


def _sub_spec(entry: Any) -> Spec | None:
    """The spec below an entry that returns an object, else None."""
    if isinstance(entry, Computed | Related):
        entry = entry.fields
    return entry if isinstance(entry, dict) else None


def drift(spec: Spec, type_name: str, optimizer_only: dict[str, str], path: str = "") -> list[str]:
    """What makes ``spec`` and the GraphQL type ``type_name`` disagree (nothing: ``[]``)."""
    fields = schema._schema.type_map[type_name].fields
    problems = []
    for name, field in fields.items():
        where = path + name
        if name in spec:
            sub_spec = _sub_spec(spec[name])
            if sub_spec is not None:
                sub_type = get_named_type(field.type).name
                problems += drift(sub_spec, sub_type, optimizer_only, where + ".")
        elif where not in optimizer_only:
            problems.append(
                f"{type_name}.{name} ({where}) is neither in the read model nor optimizer-only: "
                + WHAT_TO_DO
            )
    for name in spec:
        if name not in fields:
            problems.append(f"PRODUCT has {path + name}, a field {type_name} does not have")
    return problems


def stale(spec: Spec, type_name: str, optimizer_only: dict[str, str]) -> list[str]:
    """Entries of ``optimizer_only`` that are no field, or that the read model serves."""
    problems = []
    for where, reason in optimizer_only.items():
        *path, name = where.split(".")
        owner, entries = type_name, spec
        for step in path:
            field = schema._schema.type_map[owner].fields.get(step)
            owner = get_named_type(field.type).name if field else "?"
            entries = _sub_spec(entries.get(step)) or {}
        graphql_type = schema._schema.type_map.get(owner)
        if graphql_type is None or name not in graphql_type.fields:
            problems.append(f"OPTIMIZER_ONLY has {where}, a field {owner} does not have")
        elif name in entries:
            problems.append(f"OPTIMIZER_ONLY has {where}, which PRODUCT serves: remove one")
        if not reason.strip():
            problems.append(f"OPTIMIZER_ONLY has {where} without its reason")
    return problems


def _fields_by_graphql_name(type_name: str) -> dict[str, Any]:
    definition = schema.get_type_by_name(type_name)
    convert = schema.config.name_converter.get_graphql_name
    return {convert(field): field for field in definition.fields}


def unread(spec: Spec, type_name: str, path: str = "") -> list[str]:
    """The entries of ``spec`` that do not say what they read, or not what the type reads."""
    definition = schema.get_type_by_name(type_name)
    model = definition.origin.__strawberry_django_definition__.model
    type_fields = _fields_by_graphql_name(type_name)
    problems = []
    for name, entry in spec.items():
        where, field = path + name, type_fields.get(name)
        if not isinstance(entry, Column | Computed | Related):
            problems.append(
                f"PRODUCT's {where} says nothing of what it reads: give it Column('<column>'), "
                "Computed({'<annotation>': <expression>}) (the annotations its resolver reads) "
                "or Related('<relation>', {...}) (see api/rows.py)"
            )
        elif field is None:
            continue  # not a field of the type: drift() says so
        elif isinstance(entry, Column):
            problems += _column_problems(where, entry.name, model, definition.origin, field)
        elif isinstance(entry, Computed):
            hints = set(field.store.annotate)
            if not entry.annotations or set(entry.annotations) != hints:
                problems.append(
                    f"PRODUCT's {where} computes {sorted(entry.annotations)}, the annotations "
                    f"{type_name}.{name} reads are {sorted(hints)}: make them the same"
                )
        elif field.django_name != entry.name or not _is_relation(model, entry.name):
            problems.append(f"PRODUCT's {where} reads {entry.name!r}, not the relation it shows")
        else:
            sub_type = schema._schema.type_map[type_name].fields[name].type
            problems += unread(entry.fields, get_named_type(sub_type).name, where + ".")
    return problems


def _is_relation(model, name: str) -> bool:
    try:
        return model._meta.get_field(name).is_relation
    except FieldDoesNotExist:
        return False


def _column_problems(where: str, column: str, model, type_, field) -> list[str]:
    if column == "pk":  # the row's pk, as resolves_rows reads it: only for the node id
        if where.rsplit(".", 1)[-1] == "id" and issubclass(type_, Node):
            return []
        return [f"PRODUCT's {where} reads the primary key, which only the node id does"]
    problems = []
    if field.base_resolver is None:
        if column != field.django_name:
            problems.append(
                f"PRODUCT's {where} reads {column!r}, the type reads {field.django_name!r}"
            )
    elif column not in field.store.only:
        problems.append(
            f"PRODUCT's {where} reads {column!r}, not one of its resolver's only={field.store.only}"
        )
    if column not in {f.name for f in model._meta.concrete_fields}:
        problems.append(f"PRODUCT's {where} reads {column!r}, no column of {model.__name__}")
    return problems


def paths(spec: Spec, prefix: str = "") -> set[str]:
    found = set()
    for name, sub_spec in shape(spec).items():
        found.add(prefix + name)
        if isinstance(sub_spec, dict):
            found |= paths(sub_spec, prefix + name + ".")
    return found


def selected_paths(selections, prefix: str = "") -> set[str]:
    found = set()
    for node in selections:
        name = node.name.value
        if name == "__typename":
            continue
        found.add(prefix + name)
        if node.selection_set:
            found |= selected_paths(node.selection_set.selections, prefix + name + ".")
    return found


def _selected_fields(nodes):
    """graphql-core's selection nodes as strawberry's ``SelectedField``s, for ``selection_fits``."""
    return [
        SelectedField(
            name=node.name.value,
            directives={},
            arguments={},
            selections=_selected_fields(node.selection_set.selections)
            if node.selection_set
            else [],
        )
        for node in nodes
    ]


# --- The rules, on the real read model -------------------------------------------------------


def test_every_field_of_the_types_is_in_the_read_model_or_optimizer_only():
    assert drift(PRODUCT, "Product", OPTIMIZER_ONLY) == []


def test_every_optimizer_only_field_is_a_field_the_read_model_does_not_serve_with_a_reason():
    assert stale(PRODUCT, "Product", OPTIMIZER_ONLY) == []


def test_every_entry_reads_the_column_or_annotations_the_type_reads():
    assert unread(PRODUCT, "Product") == []


@pytest.mark.parametrize("where", sorted(OPTIMIZER_ONLY))
def test_a_selection_with_an_optimizer_only_field_takes_the_instance_path(where):
    *path, name = where.split(".")
    document = "{ " + " { ".join([*path, name]) + " { __typename }" + " }" * len(path) + " }"
    selections = _selected_fields(parse(document).definitions[0].selection_set.selections)

    assert not selection_fits(selections, shape(PRODUCT))


def test_the_equivalence_tests_select_every_field_of_the_read_model():
    document = parse("{ " + selection(PRODUCT) + " }")

    assert selected_paths(document.definitions[0].selection_set.selections) == paths(PRODUCT)


# --- The checks catch what they are for --------------------------------------------------------


def test_a_field_of_the_type_that_the_spec_lacks_fails_saying_what_to_do():
    spec = {name: entry for name, entry in PRODUCT.items() if name != "kind"}

    assert drift(spec, "Product", OPTIMIZER_ONLY) == [
        "Product.kind (kind) is neither in the read model nor optimizer-only: " + WHAT_TO_DO
    ]


def test_a_field_of_a_reached_type_that_the_spec_lacks_fails_too():
    category = PRODUCT["category"]
    fields = {name: entry for name, entry in category.fields.items() if name != "slug"}
    spec = PRODUCT | {"category": Related(category.name, fields)}

    assert drift(spec, "Product", OPTIMIZER_ONLY) == [
        "Category.slug (category.slug) is neither in the read model nor optimizer-only: "
        + WHAT_TO_DO
    ]


def test_without_its_reason_an_optimizer_only_field_fails():
    problems = drift(PRODUCT, "Product", {})

    assert sorted(problems) == sorted(
        f"{where_type}.{where.rsplit('.', 1)[-1]} ({where}) is neither in the read model nor "
        "optimizer-only: " + WHAT_TO_DO
        for where, where_type in [
            ("variants", "Product"),
            ("service", "Product"),
            ("category.parent", "Category"),
            ("category.children", "Category"),
            ("category.products", "Category"),
        ]
    )


def test_a_field_the_type_does_not_have_fails():
    assert drift(PRODUCT | {"colour": Column("colour")}, "Product", OPTIMIZER_ONLY) == [
        "PRODUCT has colour, a field Product does not have"
    ]
    assert stale(PRODUCT, "Product", OPTIMIZER_ONLY | {"name": "served by rows"}) == [
        "OPTIMIZER_ONLY has name, which PRODUCT serves: remove one"
    ]


@pytest.mark.parametrize("entry", [LEAF, ANY, {"amount": LEAF}])
def test_an_entry_that_says_nothing_of_what_it_reads_fails_saying_what_to_do(entry):
    assert unread(PRODUCT | {"kind": entry}, "Product") == [
        "PRODUCT's kind says nothing of what it reads: give it Column('<column>'), "
        "Computed({'<annotation>': <expression>}) (the annotations its resolver reads) "
        "or Related('<relation>', {...}) (see api/rows.py)"
    ]


def test_an_entry_reading_another_column_or_annotation_fails():
    price_range = PRODUCT["priceRange"]
    spec = PRODUCT | {
        "kind": Column("knd"),
        "priceRange": Computed({"low": None}, fields=price_range.fields),
    }

    assert unread(spec, "Product") == [
        "PRODUCT's kind reads 'knd', the type reads 'kind'",
        "PRODUCT's kind reads 'knd', no column of Product",
        "PRODUCT's priceRange computes ['low'], the annotations Product.priceRange reads are "
        "['max_price', 'min_price']: make them the same",
    ]
