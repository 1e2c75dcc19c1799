"""``run_in_roomy_frame``: the schema executes at the start of a roomy frame-stack chunk.

The behaviour that matters is the number of frame-stack chunks CPython maps per request: one
at most with the roomy frame, tens to hundreds without it when the request starts near a
chunk's end. It is observed from outside, with strace, in a subprocess that serves the catalog
page from an in-memory SQLite database.
"""

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from schema.stack import run_in_roomy_frame

ROOT = Path(settings.BASE_DIR)
STRACE = shutil.which("strace") or "/usr/bin/strace"
CHUNK_SIZES = (16 * 1024, 32 * 1024)  # a frame-stack chunk, and the roomy frame's chunk
LEVELS = 16  # callers at 16 depths, 128 slots apart: every offset in a 16 KiB chunk (2,048 slots)

# Serves the catalog page N times, then 2N times, with the roomy frame and then without it
# (``run_in_roomy_frame`` replaced by a plain call). The caller's depth goes round LEVELS
# depths, so that some requests start near a chunk's end; the padding frames that make the
# depth map chunks of their own, counted by a third run that calls nothing under them. An
# anonymous mmap of MARK pages (never a frame chunk) marks where each phase starts and ends.
SCRIPT = """
import mmap, sys, types
from decimal import Decimal

import django

django.setup()

from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.test import RequestFactory
from django.test.utils import setup_test_environment
from strawberry.django.context import StrawberryDjangoContext

import schema.schema as module
from apps.catalog.models import Category, Product, ProductVariant

setup_test_environment()
call_command("migrate", verbosity=0)
category = Category.objects.create(name="Home", slug="home")
for index in range(5):
    product = Product.objects.create(name=f"P{index}", slug=f"p{index}", category=category)
    ProductVariant.objects.create(
        product=product, sku=f"S{index}", price=Decimal("5.00") + index, stock_quantity=index
    )

PAGE = '''{ products(first: 20) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id name slug inStock category { name }
  priceRange { start { amount currency } stop { amount currency } } } } } }'''
request = RequestFactory().post("/graphql/")
request.user = AnonymousUser()
context = StrawberryDjangoContext(request=request, response=None)

# pad(depth, f) calls f under `depth` frames of about 128 slots each.
SLOTS = 120
source = (
    "def pad(depth, function):\\n"
    "    if function is None:\\n"
    f"        {' = '.join(f'_{i}' for i in range(SLOTS))} = None\\n"
    "    return pad(depth - 1, function) if depth else function()\\n"
)
code = next(c for c in compile(source, "pad", "exec").co_consts if isinstance(c, types.CodeType))
pad = types.FunctionType(code, {})
pad.__globals__["pad"] = pad


def page():
    result = module.schema.execute_sync(PAGE, context_value=context)
    assert result.errors is None, result.errors
    assert len(result.data["products"]["edges"]) == 5


def nothing():
    pass


def serve(count, request):
    for index in range(count):
        pad(index % levels, request)


def mark():
    mmap.mmap(-1, mark_pages * mmap.PAGESIZE).close()


n, levels, mark_pages = map(int, sys.argv[1:])
for mode in ("roomy", "plain", "padding"):
    if mode == "plain":
        module.run_in_roomy_frame = lambda function, args, kwargs: function(*args, **kwargs)
    request = nothing if mode == "padding" else page
    serve(levels, request)  # warm-up: parser and validation caches, lazy imports
    mark()
    serve(n, request)
    mark()
    serve(2 * n, request)
    mark()
"""
MARK = 4099  # pages
_MMAP = re.compile(r"\bmmap\(NULL, (\d+), [A-Z_|]+, ([A-Z_|]+), -1, 0\) = 0x")


def strace_command() -> list[str]:
    """strace following the subprocess and its threads, on mmap and munmap; skips without it.

    ``--seccomp-bpf`` (strace 5.3 and later) stops the process on those calls only: faster.
    """
    if not os.path.exists(STRACE):
        pytest.skip(f"strace is not installed ({STRACE})")
    base = [STRACE, "-f", "-e", "trace=mmap,munmap", "-o", os.devnull]
    error = ""
    for options in (["--seccomp-bpf"], []):
        try:
            probe = subprocess.run(
                [*base, *options, sys.executable, "-c", "pass"],
                capture_output=True,
                text=True,
                timeout=60,
            )
        except OSError as exception:
            pytest.skip(f"strace does not run: {exception}")
        if probe.returncode == 0:
            return [*base[:-2], *options]
        error = probe.stderr.strip()
    pytest.skip(f"strace cannot trace a subprocess here (is ptrace permitted?): {error}")


def chunk_mappings(log: str) -> list[Counter]:
    """The frame-chunk mmaps (by size) of each phase between two marks of strace's ``log``."""
    phases: list[Counter] = [Counter()]
    for match in _MMAP.finditer(log):
        size, flags = int(match[1]), match[2]
        if "MAP_ANONYMOUS" not in flags:
            continue
        if size == MARK * os.sysconf("SC_PAGE_SIZE"):
            phases.append(Counter())
        elif size in CHUNK_SIZES:
            phases[-1][size] += 1
    return phases[1:-1]


def test_the_function_runs_with_its_arguments_and_its_result_comes_back():
    assert run_in_roomy_frame(lambda a, b=0: a + b, (2,), {"b": 3}) == 5


def test_exceptions_go_through():
    def fail():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_in_roomy_frame(fail, (), {})


def test_the_schema_executes_in_it(db, monkeypatch):
    import schema.schema as module

    calls = []

    def spy(function, args, kwargs):
        calls.append(function.__name__)
        return run_in_roomy_frame(function, args, kwargs)

    monkeypatch.setattr(module, "run_in_roomy_frame", spy)

    assert module.schema.execute_sync("{ __typename }").data == {"__typename": "Query"}
    assert calls == ["execute_sync"]


def test_a_request_maps_one_frame_chunk_at_most(tmp_path):
    strace = strace_command()
    n = LEVELS
    log = tmp_path / "strace.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": "backend.settings.test",
        "DATABASE_URL": "sqlite://:memory:",
    }
    run = subprocess.run(
        [*strace, "-o", str(log), sys.executable, "-c", SCRIPT, str(n), str(LEVELS), str(MARK)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr

    phases = chunk_mappings(log.read_text())
    assert len(phases) == 8, phases  # N, 2N and what is between, for each of the three runs
    # What the extra N requests mapped, less what the padding frames mapped in the same calls.
    padding = phases[7].total() - phases[6].total()
    roomy = phases[1].total() - phases[0].total() - padding
    plain = phases[4].total() - phases[3].total() - padding
    figures = (
        f"N={n}; mappings by size for N then 2N requests: roomy {phases[0]}, {phases[1]}; "
        f"plain {phases[3]}, {phases[4]}; padding only {phases[6]}, {phases[7]}"
    )
    assert roomy <= n, f"{roomy} chunk mappings for {n} requests with the roomy frame ({figures})"
    assert plain > 2 * n, (
        f"without the roomy frame, {plain} chunk mappings for {n} requests: the measure no "
        f"longer shows what the roomy frame saves ({figures})"
    )
