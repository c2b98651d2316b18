"""The shared cache, made optional: with Redis down or hanging, the site runs without it.

Nothing the site must keep lives in the cache (sessions, the outbox, login failures and every
patient's answer are in PostgreSQL); it holds copies of what the database can rebuild and
rate-limit counters. So a cache error is answered as a miss: pages are built from the database,
and the rate limits fail open (``clinic.rate_limits``). After an error the cache is left alone for
a few seconds, so that patients do not each pay a timeout, then tried again: caching comes back
without a restart.
"""

import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# How long the cache is skipped after an error before the next try (OPTIONS["retry_after"]).
RETRY_AFTER_SECONDS = 5.0


class Breaker:
    """Whether the cache may be tried now; says once when it goes down and once when it is back."""

    def __init__(self, retry_after=RETRY_AFTER_SECONDS):
        self.retry_after = retry_after
        self.down_since = None
        self.retry_at = 0.0
        self._lock = threading.Lock()

    def allows(self):
        return self.down_since is None or time.monotonic() >= self.retry_at

    def failed(self, error):
        with self._lock:
            self.retry_at = time.monotonic() + self.retry_after
            if self.down_since is None:
                self.down_since = time.monotonic()
                # Logged once per outage, not per request: pages go uncached and the rate limits
                # let every request through until the cache answers again.
                logger.warning(
                    "Cache unavailable (%s): serving without it; rate limits are not enforced",
                    type(error).__name__,
                )

    def succeeded(self):
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is not None:
                logger.warning("Cache available again after %.0f s", time.monotonic() - self.down_since)
                self.down_since = None


def _guarded(name, fallback):
    def method(self, *args, **kwargs):
        if not self.breaker.allows():
            return fallback(*args, **kwargs)
        try:
            result = getattr(super(ResilientRedisCache, self), name)(*args, **kwargs)
        except RedisError as error:
            self.breaker.failed(error)
            return fallback(*args, **kwargs)
        self.breaker.succeeded()
        return result

    method.__name__ = name
    return method


def _default(key, default=None, *args, **kwargs):
    return default


# INCR, and the TTL set with the first count: a counter that expires with its window.
COUNT = (
    "local n = redis.call('incr', KEYS[1]) if n == 1 then redis.call('expire', KEYS[1], ARGV[1]) end return n"
)


class CountingRedisCache(RedisCache):
    """Django's Redis cache, with a counter for the rate limits (``clinic.rate_limits``)."""

    def count(self, key, *, timeout):
        """Add one to the counter ``key``, which lives ``timeout`` seconds from its first count.

        One round trip, and atomic: the counter never outlives its window without a TTL. Django's
        ``incr`` cannot do this (EXISTS, then INCRBY: a key that expires between the two comes
        back with no TTL), so the script runs through the Redis client Django's cache holds
        (``_cache``, not public API: the one place this module reaches into Django's backend,
        which it otherwise only calls).
        """
        key = self.make_and_validate_key(key)
        client = self._cache.get_client(key, write=True)
        return client.register_script(COUNT)(keys=[key], args=[int(timeout)])


class ResilientRedisCache(CountingRedisCache):
    """Django's Redis cache, answering a miss (and storing nothing) while Redis cannot be reached."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS", {}))
        retry_after = options.pop("retry_after", RETRY_AFTER_SECONDS)
        super().__init__(server, {**params, "OPTIONS": options})
        self.breaker = Breaker(retry_after)

    get = _guarded("get", _default)
    get_many = _guarded("get_many", lambda keys, *args, **kwargs: {})
    set = _guarded("set", lambda *args, **kwargs: None)
    set_many = _guarded("set_many", lambda data, *args, **kwargs: list(data))
    add = _guarded("add", lambda *args, **kwargs: False)
    incr = _guarded("incr", lambda *args, **kwargs: None)
    decr = _guarded("decr", lambda *args, **kwargs: None)
    touch = _guarded("touch", lambda *args, **kwargs: False)
    has_key = _guarded("has_key", lambda *args, **kwargs: False)
    delete = _guarded("delete", lambda *args, **kwargs: False)
    delete_many = _guarded("delete_many", lambda *args, **kwargs: None)
    clear = _guarded("clear", lambda *args, **kwargs: False)
    # A rate limit's counter: None, and the request let through, while Redis cannot be reached.
    count = _guarded("count", lambda *args, **kwargs: None)
