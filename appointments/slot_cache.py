"""Open times kept in the shared cache, under a version that every change to them replaces.

Computing a week of open times reads every licensed clinician's hours, time off and booked
appointments; patients ask for the same week over and over between two bookings. So the pages
that only show times (``open_slots(..., cached=True)``) keep what they computed under a version
token, and every service that changes what is open (booking, moving, cancelling, hours, time off,
a clinician's kinds or states) replaces the token: everything cached before is then stale at
once. What is cached never depends on "now": the minimum notice and the horizon are applied
after reading. Deciding whether a time may be booked always reads the database.

With the cache unreachable nothing is stored or read (``clinic.cache``): open times are
computed as if there were no cache.
"""

import uuid

from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver

from clinic.cache import cache_reconnected

VERSION_KEY = "appointments:open-times-version"
# A backstop, not the rule: every change replaces the version at once.
CACHE_SECONDS = 10 * 60


def open_times_get(key: str) -> tuple[str | None, object | None]:
    """The current version and what ``key`` holds for it (None when stale or missing).

    One round trip: the value is stored beside the version it was computed under, and is stale
    when that is not the current one. A None version means the cache cannot be used.
    """
    found = cache.get_many([VERSION_KEY, key])
    version = found.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        return cache.get(VERSION_KEY), None
    stored = found.get(key)
    if stored is None or stored[0] != version:
        return version, None
    return version, stored[1]


def open_times_set(key: str, version: str | None, value: object) -> None:
    """Keep ``value``, computed after reading ``version``; nothing without a version."""
    if version is not None:
        cache.set(key, (version, value), timeout=CACHE_SECONDS)


def _new_version() -> None:
    # A random token, never a counter: a version evicted from the cache can never come back.
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def open_times_changed() -> None:
    """Make every cached open time stale: now, and again once the transaction commits.

    The second change matters: a page computed by another request from the rows as they were
    before the commit, and cached under the first new version, is stale once the commit lands.
    """
    _new_version()
    transaction.on_commit(_new_version, robust=True)


@receiver(cache_reconnected)
def _open_times_changed_during_outage(**kwargs):
    # A booking made while the cache was unreachable could not replace the version: open times
    # cached before the outage would come back with the cache, the booked time still in them.
    _new_version()
