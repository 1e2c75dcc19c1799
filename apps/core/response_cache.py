"""An opt-in cache of anonymous GraphQL read responses, invalidated by the writes they depend on.

The cache knows no domain: an app registers the root fields whose answers depend only on its
own data, identically for every anonymous caller (the catalog registers ``products``,
``product``, ``categories`` and ``category``), and calls ``invalidate()`` on every write of
that data. A document is cached only when each of its root fields is registered.

Every write bumps a version key (after commit); a cached response stores the version it was
made under and is served only while that version is current, so a buyer never sees a price or
stock the database no longer has, except within ``CATALOG_CACHE_TTL`` seconds should a write
bypass the application (raw SQL).
"""

import hashlib
import json
import uuid
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse

VERSION_KEY = "catalog:version"
ENTRY_PREFIX = "catalog:response:"
_root_fields: set[str] = {"__typename"}


def register(*root_fields: str) -> None:
    """Root query fields whose answers depend only on data that calls ``invalidate()``."""
    _root_fields.update(root_fields)
    is_cacheable_document.cache_clear()


def registered() -> frozenset[str]:
    return frozenset(_root_fields)


def _bump() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)


def invalidate() -> None:
    """Mark every cached response stale once the current transaction commits."""
    if settings.CATALOG_CACHE:
        transaction.on_commit(_bump)


@lru_cache(maxsize=512)
def is_cacheable_document(query: str, operation_name: str | None) -> bool:
    """Whether the operation to run is a query whose root fields are all registered."""
    try:
        document = parse(query)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [op for op in operations if op.name and op.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return False
    selections = operations[0].selection_set.selections
    return all(
        isinstance(node, FieldNode) and node.name.value in _root_fields for node in selections
    )


def entry_key(
    query: str, variables: dict | None, operation_name: str | None, *, origin: str = ""
) -> str:
    """The key of an answer: the operation, and the origin (scheme and host) it was asked on,
    since answers carry absolute URLs."""
    canonical = json.dumps(
        [origin, query, variables or {}, operation_name], sort_keys=True, separators=(",", ":")
    )
    return ENTRY_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()


def lookup(key: str) -> tuple[bytes | None, str]:
    """The cached body under the current version (or None), and that version (one round trip)."""
    found = cache.get_many([VERSION_KEY, key])
    version = found.get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(VERSION_KEY, version, None):
            version = cache.get(VERSION_KEY, version)
        return None, version
    entry = found.get(key)
    if entry is not None and entry[0] == version:
        return entry[1], version
    return None, version


def store(key: str, version: str, body: bytes) -> None:
    cache.set(key, (version, body), settings.CATALOG_CACHE_TTL)
