"""Refresh the vendored GraphiQL assets from the npm registry, or check the committed ones.

    .venv/bin/python api/static/graphiql/update.py           # download, verify, copy
    .venv/bin/python api/static/graphiql/update.py --check   # verify the committed files (offline)

The list of assets is strawberry's own GraphiQL page (``strawberry/static/graphiql.html``): every
``https://unpkg.com/<package>@<version>/<path>`` it loads, with the ``integrity`` hash it pins.
For each package the script reads the version's metadata from the registry, downloads its
tarball and checks it against the registry's ``dist.integrity``, takes the files the page names
and checks each against the page's hash, and writes them, with the package's licence, to
``<package>-<version>/<path>`` beside this script (``@graphiql/plugin-explorer`` becomes
``graphiql-plugin-explorer-1.0.2``, as ``npm pack`` names the tarball). Directories of versions
the page no longer loads are removed, and the table in README.md is rewritten.
``api/views.py`` maps the page's URLs to the same names.

Only the standard library: no Node, no npm. ``NPM_CONFIG_REGISTRY`` names another registry.
"""

import argparse
import base64
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import sys
import tarfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REGISTRY = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")

# A package whose tarball ships no licence file: the licence of a package of the same repository
# (both say "license": "MIT" and "repository": github.com/graphql/graphiql).
LICENCE_FROM = {"@graphiql/plugin-explorer": "graphiql"}
# Packages bundled into a vendored file, whose licence travels with it as LICENSE.<name>.
BUNDLED = {"@graphiql/plugin-explorer": [("graphiql-explorer", "0.9.0")]}

_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_ASSET = re.compile(
    r'(?:src|href)="(?P<url>https://unpkg\.com/(?P<package>(?:@[\w.-]+/)?[\w.-]+)'
    r'@(?P<version>[\w.+-]+)/(?P<path>[^"]+))"'
)
_INTEGRITY = re.compile(r'integrity="(?P<integrity>[^"]+)"')
_LICENCE = re.compile(r"package/(?:licen[cs]e|copying)(?:\.md|\.txt)?", re.IGNORECASE)
_VERSION_DIR = re.compile(r"^[\w.-]+-\d+\.\d+\.\d+[\w.+-]*$")
_TABLE = re.compile(r"(<!-- assets:start -->\n).*?(<!-- assets:end -->)", re.DOTALL)


@dataclass(frozen=True)
class Asset:
    url: str
    package: str
    version: str
    path: str
    integrity: str

    @property
    def directory(self) -> str:
        return f"{self.package.removeprefix('@').replace('/', '-')}-{self.version}"


def page_path() -> Path:
    spec = importlib.util.find_spec("strawberry")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("strawberry is not importable: run this with the project's .venv/bin/python")
    return Path(spec.submodule_search_locations[0]) / "static" / "graphiql.html"


def page_assets(html: str) -> list[Asset]:
    assets = []
    for tag in _TAG.findall(html):
        asset = _ASSET.search(tag)
        if asset is None:
            continue
        integrity = _INTEGRITY.search(tag)
        if integrity is None:
            sys.exit(f"{asset['url']} has no integrity hash on strawberry's page")
        path = asset["path"]
        if ".." in path.split("/"):
            sys.exit(f"{asset['url']}: unexpected path")
        assets.append(Asset(**asset.groupdict(), integrity=integrity["integrity"]))
    if not assets:
        sys.exit("no https://unpkg.com/ asset found on strawberry's page")
    return assets


def sri_matches(data: bytes, integrity: str) -> bool:
    """Subresource Integrity: the content matches one of the hashes of the strongest algorithm."""
    hashes = [item.split("-", 1) for item in integrity.split() if "-" in item]
    strongest = max((a for a, _ in hashes if a in ("sha256", "sha384", "sha512")), default=None)
    if strongest is None:
        return False
    digest = base64.b64encode(hashlib.new(strongest, data).digest()).decode()
    return any(a == strongest and value.split("?")[0] == digest for a, value in hashes)


def fetch(url: str) -> bytes:
    if not url.startswith(("https://", "http://")):
        sys.exit(f"refusing to fetch {url}")
    # The scheme is checked above: https (or http for a local registry), never file:.
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310  # nosec B310
        return response.read()


def tarball(package: str, version: str) -> tarfile.TarFile:
    """The package's tarball from the registry, checked against the registry's integrity."""
    meta = json.loads(fetch(f"{REGISTRY}/{urllib.parse.quote(package, safe='@')}/{version}"))
    data = fetch(meta["dist"]["tarball"])
    if not sri_matches(data, meta["dist"]["integrity"]):
        sys.exit(f"{package}@{version}: the tarball does not match the registry's integrity")
    print(f"  {package}@{version}: {meta['dist']['tarball']} ({len(data):,} bytes, verified)")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")


def member(archive: tarfile.TarFile, name: str) -> bytes:
    info = archive.getmember(name)
    if not info.isfile():
        sys.exit(f"{name} is not a regular file in the tarball")
    return archive.extractfile(info).read()


def licence(archive: tarfile.TarFile) -> bytes | None:
    names = sorted(n for n in archive.getnames() if _LICENCE.fullmatch(n))
    return member(archive, names[0]) if names else None


def update(assets: list[Asset]) -> None:
    packages = {(a.package, a.version): a.directory for a in assets}
    files: dict[Path, bytes] = {}
    licences: dict[str, bytes] = {}
    archives = {key: tarball(*key) for key in packages}
    for (package, version), directory in packages.items():
        text = licence(archives[package, version])
        if text is not None:
            licences[package] = text
        for name, bundled_version in BUNDLED.get(package, ()):
            text = licence(tarball(name, bundled_version))
            if text is None:
                sys.exit(f"{name}@{bundled_version} ships no licence file")
            files[HERE / directory / f"LICENSE.{name}"] = text
    for (package, _), directory in packages.items():
        text = licences.get(package) or licences.get(LICENCE_FROM.get(package, ""))
        if text is None:
            sys.exit(f"{package} ships no licence file and LICENCE_FROM names none")
        files[HERE / directory / "LICENSE"] = text
    for asset in assets:
        data = member(archives[asset.package, asset.version], f"package/{asset.path}")
        if not sri_matches(data, asset.integrity):
            sys.exit(f"{asset.url}: the npm file does not match the page's {asset.integrity}")
        files[HERE / asset.directory / asset.path] = data

    keep = set(packages.values())
    for stale in HERE.iterdir():
        if stale.is_dir() and _VERSION_DIR.match(stale.name) and stale.name not in keep:
            print(f"  removing {stale.name}/")
            shutil.rmtree(stale)
    for directory in keep:
        shutil.rmtree(HERE / directory, ignore_errors=True)
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    write_table(assets)


def write_table(assets: list[Asset]) -> None:
    rows = [
        "| file | package | bytes | integrity (from strawberry's page) |",
        "| --- | --- | --: | --- |",
    ]
    for a in assets:
        size = (HERE / a.directory / a.path).stat().st_size
        name = f"{a.directory}/{a.path}"
        rows.append(f"| `{name}` | {a.package}@{a.version} | {size:,} | `{a.integrity}` |")
    readme = HERE / "README.md"
    text = readme.read_text()
    if not _TABLE.search(text):
        sys.exit("README.md has no <!-- assets:start --> ... <!-- assets:end --> block")
    readme.write_text(_TABLE.sub(lambda m: m[1] + "\n".join(rows) + "\n" + m[2], text, count=1))


def check(assets: list[Asset]) -> int:
    problems = []
    for asset in assets:
        path = HERE / asset.directory / asset.path
        if not path.is_file():
            problems.append(f"missing {path.relative_to(HERE)} ({asset.url})")
        elif not sri_matches(path.read_bytes(), asset.integrity):
            problems.append(f"{path.relative_to(HERE)} does not match {asset.integrity}")
        if not (HERE / asset.directory / "LICENSE").is_file():
            problems.append(f"missing {asset.directory}/LICENSE")
    for problem in dict.fromkeys(problems):
        print(problem, file=sys.stderr)
    if problems:
        print("run: .venv/bin/python api/static/graphiql/update.py", file=sys.stderr)
        return 1
    print(f"{len(assets)} GraphiQL assets match strawberry's integrity hashes")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="verify the files, offline")
    parser.add_argument("--page", type=Path, help="the GraphiQL page (default: strawberry's)")
    args = parser.parse_args()
    page = args.page or page_path()
    assets = page_assets(page.read_text(encoding="utf-8"))
    if args.check:
        return check(assets)
    print(f"assets of {page}:")
    update(assets)
    return check(assets)


if __name__ == "__main__":
    sys.exit(main())
