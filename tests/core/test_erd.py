from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from apps.core.management.commands import erd


def test_every_project_model_is_an_entity_in_sorted_order():
    text = erd.render()
    entities = [line.strip()[:-2] for line in text.splitlines() if line.endswith(" {")]
    project = [m._meta.object_name for m in apps.get_models() if m.__module__.startswith("apps.")]
    assert project and set(project) <= set(entities)
    included = erd.included_models()
    assert entities == [m._meta.object_name for m in included]
    assert included == sorted(included, key=lambda m: (m._meta.app_label, m._meta.object_name))


def test_django_models_appear_only_when_a_project_model_points_at_them():
    names = {m._meta.label for m in erd.included_models()}
    assert {"auth.Group", "auth.Permission", "contenttypes.ContentType"} <= names
    assert "sessions.Session" not in names
    assert "admin.LogEntry" not in names


def test_fields_and_relations_carry_types_keys_and_cardinality():
    text = erd.render()
    assert "        BigAutoField id PK\n" in text
    assert '        ForeignKey user_id FK "User, null"\n' in text  # Order.user
    assert '        OneToOneField order_id FK, UK "Order"\n' in text  # Payment.order
    assert '    Order ||--o{ OrderLine : "order"\n' in text  # required foreign key
    assert '    User |o--o{ Order : "user"\n' in text  # nullable foreign key
    assert '    Order ||--o| Payment : "order"\n' in text  # one to one
    assert '    User }o--o{ Group : "groups"\n' in text  # many to many
    assert '    Category |o--o{ Category : "parent"\n' in text  # to itself
    assert "`Notification.target` is a generic relation" in text


def test_the_output_is_deterministic():
    assert erd.render() == erd.render()


class _Model:
    def __init__(self, app_label: str, name: str) -> None:
        self._meta = SimpleNamespace(app_label=app_label, object_name=name)


def test_names_take_the_app_label_when_two_apps_share_a_model_name():
    a, b, c = _Model("shop", "Item"), _Model("stock", "Item"), _Model("shop", "Cart")
    assert erd._names([a, b, c]) == {a: "shop_Item", b: "stock_Item", c: "Cart"}


def test_writes_the_file_and_check_then_passes(tmp_path):
    path = tmp_path / "docs" / "models.md"
    call_command("erd", "--output", str(path))
    assert path.read_text(encoding="utf-8") == erd.render()
    call_command("erd", "--check", "--output", str(path))


@pytest.mark.parametrize("content", [None, "# Models\n\nstale\n"])
def test_check_fails_on_a_stale_or_missing_file_and_writes_nothing(tmp_path, content):
    path = tmp_path / "models.md"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match="make erd"):
        call_command("erd", "--check", "--output", str(path))
    assert (path.read_text(encoding="utf-8") if path.exists() else None) == content
