"""A Redis cache that fails open: when Redis is down or hangs, the shop goes on without it.

The cache holds nothing the shop cannot do without: rate-limit counters, cached catalog
answers, copies of sessions (kept in the database too, ``cached_db``). So every call that
fails answers as a miss (``get`` its default, ``set`` nothing), and a circuit breaker keeps
the next calls away from Redis for ``CACHE_BREAKER_SECONDS``: a hung Redis costs one request
its socket timeout (a fraction of a second), not every request. Each trip is logged once.

With the breaker open, rate limits fail open (``RATELIMIT_FAIL_OPEN``): sign-in keeps working.
A limit that must hold whatever happens (``apps.core.ratelimit``, ``fail_closed``) asks
``available()`` first.
"""

import functools
import logging
import threading
import time

from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_open_until = 0.0  # monotonic time until which Redis is not asked (per process)


def available() -> bool:
    """False while the breaker is open: Redis failed a moment ago."""
    return time.monotonic() >= _open_until


def _trip(error: Exception) -> None:
    global _open_until
    with _lock:
        first = available()
        _open_until = time.monotonic() + settings.CACHE_BREAKER_SECONDS
    if first:
        logger.warning(
            "Redis is unavailable (%s); the cache is bypassed for %s s",
            error,
            settings.CACHE_BREAKER_SECONDS,
        )


def _reset() -> None:
    """Close the breaker (tests)."""
    global _open_until
    _open_until = 0.0


def _guarded(default):
    """Run the cache call unless the breaker is open; on a Redis failure, trip it and answer
    ``default`` (a callable of the call's arguments, or a value)."""

    def decorate(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):
            fallback = default(*args, **kwargs) if callable(default) else default
            if not available():
                return fallback
            try:
                return method(self, *args, **kwargs)
            except (RedisError, OSError) as error:
                _trip(error)
                return fallback

        return call

    return decorate


def _default_argument(key, default=None, *args, **kwargs):
    return default


def _missing_counter(*args, **kwargs):
    # What django-ratelimit reads as "the cache failed" (then RATELIMIT_FAIL_OPEN decides).
    raise ValueError("the cache is unavailable")


class ResilientRedisCache(RedisCache):
    """Django's Redis cache, answering misses instead of errors while Redis is unavailable."""

    get = _guarded(_default_argument)(RedisCache.get)
    get_many = _guarded(lambda *args, **kwargs: {})(RedisCache.get_many)
    has_key = _guarded(False)(RedisCache.has_key)
    add = _guarded(False)(RedisCache.add)
    set = _guarded(None)(RedisCache.set)
    set_many = _guarded(lambda data, *args, **kwargs: list(data))(RedisCache.set_many)
    touch = _guarded(False)(RedisCache.touch)
    delete = _guarded(False)(RedisCache.delete)
    delete_many = _guarded(None)(RedisCache.delete_many)
    clear = _guarded(False)(RedisCache.clear)

    def incr(self, key, delta=1, version=None):
        if not available():
            return _missing_counter()
        try:
            return super().incr(key, delta, version)
        except (RedisError, OSError) as error:
            _trip(error)
            return _missing_counter()
