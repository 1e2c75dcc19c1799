"""The documentation keeps up with the code: every error code and environment variable is listed,
the README stays short, links lead somewhere, the model diagram and the order state diagrams are
what the code says. No database needed."""

import ast
import importlib
import re
import unicodedata
from enum import StrEnum
from pathlib import Path

from django.core.management import call_command

from apps.delivery.models import DeliveryStatus
from apps.delivery.models import next_statuses as delivery_next_statuses
from apps.orders.models import OrderStatus, next_statuses

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
API_REFERENCE = DOCS / "api-reference.md"
CONFIGURATION = DOCS / "configuration.md"
ARCHITECTURE = DOCS / "architecture.md"

_FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.M | re.S)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _section(text: str, title: str) -> str:
    """The text under the heading ``title``, up to the next heading of its level or above."""
    prose = _FENCE.sub("", text)
    for match in _HEADING.finditer(prose):
        if match.group(2) == title:
            level = len(match.group(1))
            rest = prose[match.end() :]
            end = re.search(rf"^#{{1,{level}}}\s", rest, re.M)
            return rest[: end.start()] if end else rest
    raise AssertionError(f"no heading {title!r}")


def _first_cells(text: str) -> list[str]:
    """The first cell of every table row."""
    return [line.split("|")[1] for line in text.splitlines() if line.startswith("|")]


# --- (a) Every code of every *ErrorCode enum is in the error-code table --------------------------


def _error_code_enums() -> list[tuple[str, type[StrEnum]]]:
    """Every ``*ErrorCode`` StrEnum defined in an ``apps/*/errors.py``, with its file."""
    found = []
    for path in sorted((ROOT / "apps").glob("*/errors.py")):
        module = importlib.import_module(f"apps.{path.parent.name}.errors")
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, StrEnum)
                and name.endswith("ErrorCode")
                and value.__module__ == module.__name__
            ):
                found.append((str(path.relative_to(ROOT)), value))
    return found


def test_the_error_code_table_lists_every_code_of_every_error_code_enum_and_no_other():
    enums = _error_code_enums()
    assert {enum.__name__ for _, enum in enums} >= {"CoreErrorCode", "OrderErrorCode"}
    table = _section(_read(API_REFERENCE), "Error codes")
    listed = {code for cell in _first_cells(table) for code in re.findall(r"`([a-z_]+)`", cell)}
    missing = sorted(
        f"{code.value} ({enum.__name__} in {path})"
        for path, enum in enums
        for code in enum
        if code.value not in listed
    )
    assert not missing, (
        "docs/api-reference.md, section 'Error codes': add a row "
        "(| `code` | enum | kind | meaning |) for " + ", ".join(missing)
    )
    stale = sorted(listed - {code.value for _, enum in enums for code in enum})
    assert not stale, (
        "docs/api-reference.md, section 'Error codes': no *ErrorCode enum has "
        + ", ".join(stale)
        + "; remove the row, or add the code to an apps/*/errors.py"
    )


# --- (b) Every environment variable the settings read is in the configuration table -------------


def _env_name(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _is_env_object(node: ast.expr) -> bool:
    """``env`` or ``environ.Env()``."""
    if isinstance(node, ast.Name):
        return node.id == "env"
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "Env"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "environ"
    )


def _reads_environment(func: ast.expr) -> bool:
    """``env(...)``, ``env.bool(...)`` and the like, ``environ.Env()(...)``, ``os.getenv(...)``,
    ``os.environ.get(...)``."""
    if _is_env_object(func):
        return True
    if not isinstance(func, ast.Attribute):
        return False
    if _is_env_object(func.value):
        return True
    if isinstance(func.value, ast.Name) and func.value.id == "os":
        return func.attr == "getenv"
    return (
        func.attr == "get"
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "environ"
        and isinstance(func.value.value, ast.Name)
        and func.value.value.id == "os"
    )


def _helpers(tree: ast.Module) -> set[str]:
    """Module functions that read the variable named by their first parameter
    (``_required(name)`` in production.py)."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.args.args:
            param = node.args.args[0].arg
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and _reads_environment(call.func)
                    and call.args
                    and isinstance(call.args[0], ast.Name)
                    and call.args[0].id == param
                ):
                    names.add(node.name)
    return names


def settings_variables() -> dict[str, set[str]]:
    """Each environment variable read in ``backend/settings/*.py``, with the files that read it."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "backend" / "settings").glob("*.py")):
        tree = ast.parse(_read(path), filename=str(path))
        helpers = _helpers(tree)
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Call) and (
                _reads_environment(node.func)
                or (isinstance(node.func, ast.Name) and node.func.id in helpers)
            ):
                name = _env_name(node)
            elif (
                isinstance(node, ast.Subscript)
                and isinstance(node.ctx, ast.Load)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "environ"
                and isinstance(node.slice, ast.Constant)
            ):
                name = node.slice.value
            if isinstance(name, str):
                found.setdefault(name, set()).add(path.name)
    return found


# Listed in the table, read by a library rather than by the settings (boto3, for S3 uploads).
READ_BY_LIBRARIES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def test_the_settings_table_lists_every_environment_variable_the_settings_read_and_no_other():
    read = settings_variables()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "AWS_STORAGE_BUCKET_NAME"} <= set(read)
    table = _section(_read(CONFIGURATION), "Environment variables")
    listed = {
        name for cell in _first_cells(table) for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)
    }
    missing = sorted(f"{name} ({', '.join(sorted(read[name]))})" for name in set(read) - listed)
    assert not missing, (
        "docs/configuration.md, section 'Environment variables': add a row "
        "(| `NAME` | default | meaning |) for " + ", ".join(missing)
    )
    stale = sorted(listed - set(read) - READ_BY_LIBRARIES)
    assert not stale, (
        "docs/configuration.md, section 'Environment variables': the settings no longer read "
        + ", ".join(stale)
        + "; remove the row (or, if a library reads it, add it to READ_BY_LIBRARIES)"
    )


# --- (c) A short README, and relative links that lead somewhere ----------------------------------


def test_the_readme_is_short():
    lines = len(_read(README).splitlines())
    assert lines <= 220, f"README.md has {lines} lines (at most 220): move the details to docs/"


def test_the_readme_lists_every_documented_make_target():
    targets = re.findall(r"^## ([\w-]+):", _read(ROOT / "Makefile"), re.M)
    assert "run" in targets
    readme = _read(README)
    missing = [target for target in targets if f"`make {target}`" not in readme]
    assert not missing, f"README.md, 'Make targets': add {', '.join(missing)}"


def _slug(title: str) -> str:
    """A heading's anchor as MkDocs (Python-Markdown's toc) makes it."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title).replace("`", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(path: Path) -> set[str]:
    return {_slug(match.group(2)) for match in _HEADING.finditer(_FENCE.sub("", _read(path)))}


def _links(path: Path) -> list[str]:
    prose = re.sub(r"`[^`\n]*`", "", _FENCE.sub("", _read(path)))
    return re.findall(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", prose)


def test_relative_links_point_at_files_and_headings_that_exist():
    pages = [README, *sorted(DOCS.glob("*.md"))]
    assert len(pages) > 5
    broken = []
    for page in pages:
        for target in _links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            file, _, anchor = target.partition("#")
            linked = (page.parent / file).resolve() if file else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


# --- (d) The model diagram is fresh, and the order state diagrams match the code -----------------


def test_the_model_diagram_is_fresh():
    call_command("erd", "--check")  # raises CommandError, naming `make erd`, when stale


def _state_diagram(title: str) -> set[tuple[str, str]]:
    text = _read(ARCHITECTURE)
    start = text.index(f"### {title}\n")
    block = re.search(r"```mermaid\n(.*?)```", text[start:], re.S)
    assert block and "stateDiagram" in block.group(1), f"no state diagram under {title!r}"
    moves = re.findall(r"^\s*(\w+) --> (\w+)\s*$", block.group(1), re.M)
    return set(moves)


def test_the_order_state_diagrams_are_the_state_machine():
    for title, ships, cash in (
        ("Orders that ship", True, False),
        ("Orders that do not ship", False, False),
        ("Orders paid on delivery", True, True),
    ):
        expected = {
            (status, target)
            for status in OrderStatus.values
            for target in next_statuses(status, requires_shipping=ships, pays_on_delivery=cash)
        }
        drawn = _state_diagram(title)
        assert drawn == expected, (
            f"docs/architecture.md, {title!r}: draw {sorted(expected - drawn)}, "
            f"remove {sorted(drawn - expected)}"
        )


def test_the_delivery_state_diagram_is_the_state_machine():
    expected = {
        (status, target)
        for status in DeliveryStatus.values
        for target in delivery_next_statuses(status)
    }
    drawn = _state_diagram("Delivery status")
    assert drawn == expected, (
        f"docs/architecture.md, 'Delivery status': draw {sorted(expected - drawn)}, "
        f"remove {sorted(drawn - expected)}"
    )
