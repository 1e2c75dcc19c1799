from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from api.rows import ANY, LEAF, Row, selected, selected_names, selection_fits

SPEC = {
    "name": LEAF,
    "price": {"amount": LEAF},
    "page": ANY,
}


def field(name, *selections):
    return SelectedField(name=name, directives={}, arguments={}, selections=list(selections))


def inline(*selections):
    return InlineFragment(type_condition="Product", selections=list(selections), directives={})


def spread(*selections):
    return FragmentSpread(
        name="card", type_condition="Product", selections=list(selections), directives={}
    )


def test_a_selection_within_the_spec_fits():
    assert selection_fits([field("name"), field("price", field("amount"))], SPEC)


def test_typename_always_fits():
    assert selection_fits([field("__typename"), field("price", field("__typename"))], SPEC)


def test_an_unknown_field_does_not_fit_at_any_depth():
    assert not selection_fits([field("variants", field("sku"))], SPEC)
    assert not selection_fits([field("price", field("currency"))], SPEC)


def test_a_leaf_with_a_sub_selection_does_not_fit():
    assert not selection_fits([field("name", field("length"))], SPEC)


def test_any_accepts_whatever_is_below():
    assert selection_fits([field("page", field("whatever", field("deeper")))], SPEC)


def test_fragments_are_followed():
    assert selection_fits([inline(field("name")), spread(field("price", field("amount")))], SPEC)
    assert not selection_fits([spread(inline(field("variants")))], SPEC)


def test_selected_and_selected_names_see_through_fragments():
    selections = [field("name"), inline(field("price", field("amount"))), spread(field("name"))]

    assert selected_names(selections) == {"name", "price"}
    assert [found.name for found in selected(selections, "name")] == ["name", "name"]


def test_a_row_carries_its_values_as_attributes():
    row = Row(pk=3, name="Pan")

    assert (row.pk, row.name) == (3, "Pan")
    assert repr(row) == "<Row 3>"
