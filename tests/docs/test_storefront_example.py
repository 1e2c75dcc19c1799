"""docs/frontend.md and examples/storefront keep up with schema.graphql: the scalar map names every
custom scalar, every TypeScript snippet of the guide is code of the example, and the example's
operations still generate and typecheck against the schema (when npm and its node_modules are
there: `npm ci` in examples/storefront)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "frontend.md"
EXAMPLE = ROOT / "examples" / "storefront"
SCHEMA = ROOT / "schema.graphql"


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _schema_scalars() -> set[str]:
    """The custom scalars the SDL declares (``scalar X``), docstrings left out."""
    sdl = re.sub(r'"""(.*?)"""', "", _read(SCHEMA), flags=re.S)
    return set(re.findall(r"^\s*scalar\s+(\w+)", sdl, re.M))


def _section(text: str, title: str) -> str:
    """The text under the heading ``title``, up to the next heading of its level or above."""
    match = re.search(rf"^(#+) {re.escape(title)}\s*$", text, re.M)
    assert match, f"docs/frontend.md has no heading {title!r}"
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{len(match.group(1))}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def test_the_scalar_map_names_every_custom_scalar_of_the_schema():
    scalars = _schema_scalars()
    assert {"DateTime", "Decimal", "UUID", "Upload"} <= scalars
    table = _section(_read(GUIDE), "Scalars")
    listed = {
        name
        for line in table.splitlines()
        if line.startswith("|")
        for name in re.findall(r"`(\w+)`", line.split("|")[1])
    }
    assert not scalars - listed, (
        "docs/frontend.md, section 'Scalars': add a row (| `X` | TypeScript type | on the wire |) "
        "for " + ", ".join(sorted(scalars - listed))
    )
    assert not listed - scalars, (
        "docs/frontend.md, section 'Scalars': schema.graphql has no scalar "
        + ", ".join(sorted(listed - scalars))
    )
    codegen = _read(EXAMPLE / "codegen.ts")
    mapped = set(re.findall(r"^\s*(\w+): \"", codegen.split("scalars:", 1)[1], re.M))
    assert not scalars - mapped, (
        "examples/storefront/codegen.ts: add " + ", ".join(sorted(scalars - mapped)) + " to scalars"
    )


def _squash(code: str) -> str:
    return " ".join(code.split())


def test_every_typescript_snippet_of_the_guide_is_code_of_the_example():
    snippets = re.findall(r"^```ts\n(.*?)^```", _read(GUIDE), re.M | re.S)
    assert len(snippets) >= 5
    sources = [
        _squash(_read(path))
        for path in [EXAMPLE / "codegen.ts", *sorted((EXAMPLE / "src").glob("*.ts"))]
    ]
    stale = [
        snippet.strip().splitlines()[0]
        for snippet in snippets
        if not any(_squash(snippet) in source for source in sources)
    ]
    assert not stale, (
        "docs/frontend.md: these snippets are not (or no longer) in examples/storefront; copy them "
        "from the code:\n" + "\n".join(stale)
    )


def _npm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npm", *args],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_example_generates_its_client_from_the_schema_and_typechecks():
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    if not (EXAMPLE / "node_modules").is_dir():
        pytest.skip("examples/storefront/node_modules is missing: run `npm ci` there")
    for script in ("codegen", "typecheck"):
        result = _npm("run", "--silent", script)
        assert result.returncode == 0, (
            f"`npm run {script}` in examples/storefront failed:\n{result.stdout}\n{result.stderr}"
        )
