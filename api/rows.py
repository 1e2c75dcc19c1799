"""Read models for the hottest read-only pages: rows from ``.values()`` instead of model instances.

A storefront's catalog page asks for a few columns of twenty products. Built from model
instances, each product costs an instance, its category's instance, its images' instances and,
for every relation, strawberry-django's queryset hooks. Built from rows (one ``.values()`` query,
the related lists in it as subqueries or in a second query), the same page costs a fraction of
that, and the GraphQL types resolve rows as they resolve instances: a row carries the same
attribute names.

A connection reads rows only when every field the client selected is one its model's reader
knows (``Spec``); any other selection takes the usual path through the optimizer. Filters,
ordering, visibility rules and pagination stay in the queryset the reader receives.

A read model's spec is also where its columns come from: each entry names what it reads
(``Column``, ``Computed``, ``Related``), and the reader derives its ``.values()`` from it, so the
fields a selection may ask for and the columns read for them are written once.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import strawberry
from django.db import models
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

# A selection the reader can serve: GraphQL field name -> entry. A read model's entries say
# what each field reads (``Column``, ``Computed``, ``Related``); the plain entries read nothing:
# LEAF for a scalar, ANY for an object whose fields the reader does not need to know
# (``pageInfo``), a dict for the sub-selection of an object.
Spec = dict[str, Any]
LEAF = None
ANY = object()


@dataclass(frozen=True)
class Column:
    """A scalar field read from a column of the row (``pk`` for the id); the row's attribute
    has the column's name, as the model instance's has."""

    name: str


@dataclass(frozen=True)
class Computed:
    """A field its type's resolver computes from annotations of the query (name -> expression,
    read as attributes of the row). ``fields`` is the sub-selection of the object it returns,
    a plain spec (the resolver builds it whole), or LEAF for a scalar."""

    annotations: Mapping[str, Any]
    fields: Spec | None = LEAF


@dataclass(frozen=True)
class Related:
    """A relation read with the row (``name``: the model's relation), its own fields in
    ``fields``; the row's attribute of that name holds its row, or its list of rows."""

    name: str
    fields: Spec


def columns(spec: Spec) -> dict[str, str]:
    """GraphQL field -> column, for the ``Column`` entries of ``spec``."""
    return {name: entry.name for name, entry in spec.items() if isinstance(entry, Column)}


def computed(spec: Spec) -> dict[str, Mapping[str, Any]]:
    """GraphQL field -> its annotations, for the ``Computed`` entries of ``spec``."""
    return {name: entry.annotations for name, entry in spec.items() if isinstance(entry, Computed)}


def shape(spec: Spec) -> Spec:
    """``spec`` as ``selection_fits`` reads it: LEAF, ANY or a sub-spec for every field."""
    shaped: Spec = {}
    for name, entry in spec.items():
        if isinstance(entry, Column):
            entry = LEAF
        elif isinstance(entry, Computed | Related):
            entry = entry.fields
        shaped[name] = shape(entry) if isinstance(entry, dict) else entry
    return shaped


class Row:
    """One row of a read model: its attributes are the columns, named as the model's fields."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.__dict__.get('pk')}>"


def resolves_rows(model: type[models.Model], row_class: type[Row]):
    """Class decorator, under strawberry-django's: the type resolves ``row_class`` rows as it
    resolves ``model`` instances (GraphQL's type check, and the node id from ``pk``)."""

    def decorate(cls):
        def is_type_of(type_, obj, info) -> bool:
            return isinstance(obj, (type_, model, row_class))

        def resolve_id(type_, root, *, info) -> str:
            return str(root.pk)

        cls.is_type_of = classmethod(is_type_of)
        cls.resolve_id = classmethod(resolve_id)
        return cls

    return decorate


def selection_fits(selections: list[Any], spec: Spec) -> bool:
    """True when every field in ``selections`` (fragments included) is allowed by ``spec``
    (a plain spec: LEAF, ANY and sub-specs, as ``shape`` makes it)."""
    for selection in selections:
        if isinstance(selection, (FragmentSpread, InlineFragment)):
            if not selection_fits(selection.selections, spec):
                return False
            continue
        assert isinstance(selection, SelectedField)
        if selection.name == "__typename":
            continue
        if selection.name not in spec:
            return False
        sub_spec = spec[selection.name]
        if sub_spec is ANY:
            continue
        if sub_spec is LEAF:
            if selection.selections:
                return False
            continue
        if not selection_fits(selection.selections, sub_spec):
            return False
    return True


def selected(selections: list[Any], name: str) -> list[SelectedField]:
    """The selections of field ``name`` (fragments included), every occurrence of it."""
    found = []
    for selection in selections:
        if isinstance(selection, (FragmentSpread, InlineFragment)):
            found.extend(selected(selection.selections, name))
        elif selection.name == name:
            found.append(selection)
    return found


def selected_names(selections: list[Any]) -> set[str]:
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, (FragmentSpread, InlineFragment)):
            names |= selected_names(selection.selections)
        else:
            names.add(selection.name)
    return names


# A reader turns a model's queryset, given the selected node fields (which fit its spec), into
# the queryset of values to page through and the function that makes rows of a page of them.
RowsFromValues = Callable[[list[dict[str, Any]]], list[Row]]
Reader = Callable[
    [models.QuerySet, strawberry.Info, list[Any]], tuple[models.QuerySet, RowsFromValues]
]
_readers: dict[type[models.Model], tuple[Spec, Reader]] = {}


def register_reader(model: type[models.Model], spec: Spec) -> Callable[[Reader], Reader]:
    """Register how to read ``model`` as rows, for node selections that fit ``spec``."""
    fits = shape(spec)

    def register(reader: Reader) -> Reader:
        _readers[model] = (fits, reader)
        return reader

    return register


_CONNECTION: Spec = {"edges": {"cursor": LEAF, "node": ANY}, "pageInfo": ANY, "totalCount": LEAF}


def _node_selections(model: type[models.Model], info: strawberry.Info) -> list[Any] | None:
    registered = _readers.get(model)
    if registered is None:
        return None
    connection = info.selected_fields[0].selections
    if not selection_fits(connection, _CONNECTION):
        return None
    node_selections = [
        node_selection
        for edges in selected(connection, "edges")
        for node in selected(edges.selections, "node")
        for node_selection in node.selections
    ]
    return node_selections if selection_fits(node_selections, registered[0]) else None


def reads_rows(model: type[models.Model], info: strawberry.Info) -> bool:
    """True when the connection resolving in ``info`` over ``model`` can be read as rows."""
    return _node_selections(model, info) is not None


def connection_reader(
    nodes: models.QuerySet, info: strawberry.Info
) -> tuple[models.QuerySet, RowsFromValues] | None:
    """How to read a connection over ``nodes`` as rows, if its selection allows it."""
    node_selections = _node_selections(nodes.model, info)
    if node_selections is None:
        return None
    reader = _readers[nodes.model][1]
    return reader(nodes, info, node_selections)
