"""``manage.py erd``: the entity-relationship diagram of every model, as Mermaid, in docs/models.md.

The models are read through Django's app registry only (``apps.core`` imports no other app):
every model of an ``apps.*`` app, and the models outside them that one points at (Django's
users' groups and permissions, content types). The output is sorted by app label and model
name, so that it changes only when the models do. ``--check`` rewrites nothing and fails when
the file differs from what the models give.
"""

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import models

DEFAULT_OUTPUT = Path("docs") / "models.md"

HEADER = """\
# Models

Every model of the project's apps (`apps/*/models.py`) and the Django models they point at, with
their fields and relations. This page is generated from the models by `python manage.py erd`
(`make erd`): do not edit it by hand. `make erd-check` (run by CI) fails when it is stale.

How to read it: a field's type is its Django field class; `PK` is the primary key, `FK` a
foreign key (named by its column, with the model it points at in the comment), `UK` a unique
column, and `null` a column that may be empty. On a relation line, `||` means exactly one, `|o`
zero or one, `o{` zero or more; the label is the field that holds the relation.
"""


def _is_project(model: type[models.Model]) -> bool:
    return model._meta.app_config.name.startswith("apps.")


def _sort_key(model: type[models.Model]) -> tuple[str, str]:
    return (model._meta.app_label, model._meta.object_name)


def _relations(model: type[models.Model]) -> list[models.Field]:
    """The fields of ``model`` that point at another model, in their declaration order."""
    fields = [*model._meta.fields, *model._meta.many_to_many]
    return [f for f in fields if f.is_relation and f.related_model is not None]


def included_models() -> list[type[models.Model]]:
    """The project's models, and the models outside it that they point at, sorted."""
    project = [m for m in apps.get_models() if _is_project(m)]
    chosen = set(project)
    for model in project:
        chosen.update(f.related_model for f in _relations(model))
    return sorted(chosen, key=_sort_key)


def _names(chosen: list[type[models.Model]]) -> dict[type[models.Model], str]:
    """The model's name in the diagram; prefixed with its app when two apps share a name."""
    counts: dict[str, int] = {}
    for model in chosen:
        counts[model._meta.object_name] = counts.get(model._meta.object_name, 0) + 1
    return {
        model: (
            model._meta.object_name
            if counts[model._meta.object_name] == 1
            else f"{model._meta.app_label}_{model._meta.object_name}"
        )
        for model in chosen
    }


def _attribute(field: models.Field, names: dict) -> str:
    keys = []
    if field.primary_key:
        keys.append("PK")
    if field.is_relation:
        keys.append("FK")
    if field.unique and not field.primary_key:
        keys.append("UK")
    notes = []
    if field.is_relation:
        notes.append(names.get(field.related_model, field.related_model._meta.label))
    if field.null:
        notes.append("null")
    line = f"        {type(field).__name__} {field.attname}"
    if keys:
        line += " " + ", ".join(keys)
    if notes:
        line += ' "' + ", ".join(notes) + '"'
    return line


def _relation(model: type[models.Model], field: models.Field, names: dict) -> str:
    mine, theirs = names[model], names[field.related_model]
    if field.many_to_many:
        return f'    {mine} }}o--o{{ {theirs} : "{field.name}"'
    one = "|o" if field.null else "||"
    many = "o|" if field.one_to_one else "o{"
    return f'    {theirs} {one}--{many} {mine} : "{field.name}"'


def _about(model: type[models.Model]) -> str:
    """The first paragraph of a project model's docstring, unless it is the one Django makes."""
    if not _is_project(model):
        return f"Django's {model._meta.verbose_name}."
    doc = (model.__doc__ or "").strip()
    if not doc or doc.startswith(f"{model.__name__}("):
        return ""
    paragraph = " ".join(line.strip() for line in doc.split("\n\n")[0].splitlines())
    return paragraph.replace("``", "`").replace("|", "\\|")


def _generic_relations(model: type[models.Model]) -> list[str]:
    """``Model.field`` for each generic foreign key (a content type and an id, any model)."""
    found = []
    for field in model._meta.private_fields:
        ct_field, fk_field = getattr(field, "ct_field", None), getattr(field, "fk_field", None)
        if ct_field and fk_field:
            found.append(
                f"`{model._meta.object_name}.{field.name}` is a generic relation: "
                f"`{ct_field}` (a content type) and `{fk_field}` point at a row of any model."
            )
    return found


def render() -> str:
    chosen = included_models()
    names = _names(chosen)
    lines = [HEADER]
    generic = [note for model in chosen for note in _generic_relations(model)]
    if generic:
        lines.append("\n".join(generic) + "\n")
    lines.append("```mermaid")
    lines.append("erDiagram")
    for model in chosen:
        lines.append(f"    {names[model]} {{")
        lines.extend(_attribute(field, names) for field in model._meta.fields)
        lines.append("    }")
    for model in chosen:
        lines.extend(
            _relation(model, field, names)
            for field in _relations(model)
            if field.related_model in names
        )
    lines.append("```")
    lines.append("")
    lines.append("| model | app | table | about |")
    lines.append("| --- | --- | --- | --- |")
    for model in chosen:
        meta = model._meta
        lines.append(
            f"| `{names[model]}` | `{meta.app_config.name}` | `{meta.db_table}` | {_about(model)} |"
        )
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Write the Mermaid entity-relationship diagram of every model to docs/models.md."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--output",
            default=None,
            help=f"The file to write (default: {DEFAULT_OUTPUT} in the project directory).",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; fail when the file is not what the models give.",
        )

    def handle(self, *args, output: str | None, check: bool, **options) -> None:
        path = Path(output) if output else Path(settings.BASE_DIR) / DEFAULT_OUTPUT
        content = render()
        if check:
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if current != content:
                raise CommandError(
                    f"{path} is stale: run 'make erd' (python manage.py erd) and commit it."
                )
            self.stdout.write(f"{path} is up to date.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        self.stdout.write(f"Wrote {path}.")
