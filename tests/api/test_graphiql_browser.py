"""GraphiQL at /graphql/ loads nothing from another host, and works in a real browser offline.

The first tests read the page as served (its assets, their integrity hashes, its
Content-Security-Policy) and the production build of the static files. The last one runs the
page in Debian's headless Chromium through Playwright, with every request to another host
aborted: it types a query, runs it and reads the answer. It skips, saying why, without Chromium
(``/usr/bin/chromium``, or the path in ``CHROMIUM``) or without Playwright. With
``SAVE_SCREENSHOTS=1`` it also writes ``docs/images/graphiql-offline.png``.
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from strawberry.http.ides import get_graphql_ide_html

from tests.catalog.factories import ProductFactory

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the dev group is not installed
    sync_playwright = None

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Even a request Playwright does not see (the browser's own) cannot resolve another host.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
]
QUERY = "{ products(first: 1) { totalCount } }"
SCREENSHOT = Path(settings.BASE_DIR) / "docs" / "images" / "graphiql-offline.png"

_ASSET_TAG = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=\"(?P<url>[^\"]+)\"[^>]*>")
_INTEGRITY = re.compile(r'integrity="(?P<integrity>[^"]+)"')
_UNPKG = re.compile(r'(?:src|href)="https://unpkg\.com/[^"]+"[^>]*integrity="([^"]+)"')


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def graphiql_page():
    response = Client().get("/graphql/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    return response, response.content.decode()


def page_assets(html: str) -> list[tuple[str, str]]:
    """(url, integrity) of every script and stylesheet the page loads."""
    assets = []
    for tag in _ASSET_TAG.finditer(html):
        if tag["url"].startswith("data:"):  # the favicon
            continue
        integrity = _INTEGRITY.search(tag[0])
        assets.append((tag["url"], integrity["integrity"] if integrity else None))
    return assets


def csp(response) -> dict[str, list[str]]:
    directives = [d.split() for d in response["Content-Security-Policy"].split(";")]
    return {name: values for name, *values in directives}


# --- the page as served ------------------------------------------------------------------------


def test_graphiql_loads_the_vendored_files_with_strawberrys_integrity_hashes(db):
    strawberry = get_graphql_ide_html(graphql_ide="graphiql")
    pinned = _UNPKG.findall(strawberry)
    _, html = graphiql_page()

    assets = page_assets(html)
    assert "unpkg.com" not in html
    assert len(assets) == len(pinned) == 7
    assert [integrity for _, integrity in assets] == pinned
    for url, integrity in assets:
        assert url.startswith(settings.STATIC_URL.rstrip("/") + "/graphiql/"), url
        name = url.removeprefix(settings.STATIC_URL.rstrip("/") + "/")
        found = finders.find(name)
        assert found, f"{name} is not vendored: run api/static/graphiql/update.py"
        assert sri(Path(found).read_bytes()) == integrity, (
            f"{name} does not match {integrity}: run api/static/graphiql/update.py"
        )
        package = name.split("/")[1]  # graphiql/<package>-<version>/...
        assert finders.find(f"graphiql/{package}/LICENSE"), f"{package} has no LICENSE"


def test_the_refresh_script_finds_the_committed_files_up_to_date():
    script = Path(settings.BASE_DIR) / "api" / "static" / "graphiql" / "update.py"

    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "7 GraphiQL assets match strawberry's integrity hashes\n"


def test_graphiql_has_a_content_security_policy_without_third_party_hosts(db):
    response, html = graphiql_page()

    inline = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    script_hash = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert len(inline) == 1
    assert csp(response) == {
        "default-src": ["'self'"],
        "script-src": ["'self'", f"'sha256-{script_hash}'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    # The hash is of the inline script as served, with the CSRF patch of api/views.py.
    assert 'const token = Cookies.get("csrftoken");' in inline[0]


def test_graphiql_assets_and_policy_follow_a_static_url_on_a_cdn(db, settings):
    settings.STATIC_URL = "https://cdn.example.com/static/"

    response, html = graphiql_page()

    assert {urlsplit(url).netloc for url, _ in page_assets(html)} == {"cdn.example.com"}
    policy = csp(response)
    for directive in ("script-src", "style-src", "font-src", "img-src"):
        assert policy[directive][:2] == ["'self'", "https://cdn.example.com"], directive
    assert policy["connect-src"] == ["'self'"]


def test_the_production_build_serves_the_vendored_files_byte_for_byte(tmp_path):
    """collectstatic with the production storage (hashed names, WhiteNoise's compression): the
    file each asset URL names must still match its integrity hash, and the build must pass."""
    code = (
        "import django, json; django.setup(); "
        "from django.conf import settings; "
        f"settings.STATIC_ROOT = {str(tmp_path)!r}; "
        "from django.core.management import call_command; "
        "call_command('collectstatic', interactive=False, verbosity=0); "
        "from django.test import Client; "
        "html = Client().get('/graphql/', headers={'Accept': 'text/html'}).content.decode(); "
        "print(json.dumps([settings.STATIC_URL, settings.STORAGES['staticfiles'], html]))"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings.production",
        "DJANGO_SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'build.sqlite3'}",
        "CACHE_URL": "locmemcache://graphiql-build",
        "REALTIME_REDIS_URL": "redis://127.0.0.1:6379/14",
        "GRAPHQL_GRAPHIQL": "true",
        "SECURE_SSL_REDIRECT": "false",
        "MEDIA_STORAGE": "local",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"collectstatic failed:\n{result.stderr[-3000:]}"
    static_url, storage, html = json.loads(result.stdout.splitlines()[-1])

    assets = page_assets(html)
    assert len(assets) == 7, storage
    for url, integrity in assets:
        served = tmp_path / urlsplit(url).path.removeprefix(static_url)
        assert sri(served.read_bytes()) == integrity, (
            f"{url} ({storage['BACKEND']}) no longer matches {integrity}: the storage rewrote "
            "the file (its source-map comment) while hashing it"
        )


# --- the page in a browser ---------------------------------------------------------------------


def _missing() -> str | None:
    if sync_playwright is None:
        return "needs Playwright for Python (the dev group: make install)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"needs Chromium at {CHROMIUM}: apt-get install -y chromium, or set CHROMIUM"
    return None


@pytest.fixture
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def one_product(transactional_db):
    # Made before the browser starts: Django refuses ORM calls once Playwright's loop runs.
    return ProductFactory()


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_graphiql_runs_a_query_offline_in_a_real_browser(
    one_product, live_server, chromium, tmp_path
):
    origin = live_server.url
    context = chromium.new_context(viewport={"width": 1280, "height": 720}, service_workers="block")
    context.set_default_timeout(10_000)
    page = context.new_page()
    console: list[str] = []  # errors, CSP violations and failed integrity checks included
    requests: list[str] = []
    aborted: list[str] = []
    failed: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: console.append(f"uncaught: {error}"))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("requestfailed", lambda r: failed.append(f"{r.failure} {r.url}"))
    # Seen by the page itself: every CSP violation, whether or not the console shows it.
    page.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation', (e) => window.__violations.push("
        "`${e.effectiveDirective} ${e.blockedURI}`));"
    )

    def only_the_live_server(route) -> None:
        url = route.request.url
        requests.append(url)
        if url.startswith(origin + "/"):
            route.continue_()
        else:
            aborted.append(url)
            route.abort("internetdisconnected")

    page.route("**/*", only_the_live_server)
    started = time.monotonic()
    try:
        page.goto(f"{origin}/graphql/")
        page.locator(".graphiql-query-editor .CodeMirror").click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(QUERY)
        page.locator("button.graphiql-execute-button").click()
        expect(page.locator(".result-window")).to_contain_text('"totalCount": 1')
        answer = page.evaluate(
            "() => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
        )
    except PlaywrightError as error:
        page.screenshot(path=tmp_path / "graphiql-offline.png")
        pytest.fail(
            f"GraphiQL did not answer ({error.message.splitlines()[0]}); screenshot in {tmp_path}"
            f"\nconsole errors: {console}\naborted: {aborted}\nfailed: {failed}"
        )
    elapsed = time.monotonic() - started
    violations = page.evaluate("() => window.__violations")
    page.screenshot(path=tmp_path / "graphiql-offline.png")
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT)
    context.close()

    assert json.loads(answer) == {"data": {"products": {"totalCount": 1}}}
    assert aborted == []
    assert requests and all(url.startswith(origin + "/") for url in requests)
    assert sum(url.startswith(f"{origin}/static/graphiql/") for url in requests) == 7
    assert failed == []
    assert violations == []
    assert console == []
    print(f"GraphiQL answered in {elapsed:.1f}s, {len(requests)} requests, all to {origin}")
