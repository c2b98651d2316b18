"""The readiness report: each dependency's state and how long it took to answer.

It names dependencies and states, never hosts, ports, versions or error texts; and whether the
app tells its clients apart (``client_addresses``: see clinic/network.py).
"""

import time
from datetime import timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Min
from django.utils import timezone

OK = "ok"
DEGRADED = "degraded"
UNAVAILABLE = "unavailable"

# The worker goes round its loop every few seconds; a heartbeat older than this means none is running.
WORKER_STALE_AFTER = timedelta(minutes=2)
# A message waiting longer than this means mail is not going out (SMTP down, or no worker).
OUTBOX_BEHIND_AFTER = timedelta(minutes=10)


def _timed(check):
    started = time.perf_counter()
    try:
        result = check()
    except Exception:
        result = {"state": UNAVAILABLE}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _postgresql():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"state": OK}


def _redis():
    # Straight to Redis, past the cache's breaker: the report says what Redis does now.
    cache._cache.get_client(write=True).ping()
    return {"state": OK}


def _age_seconds(moment, now):
    return None if moment is None else max(0, round((now - moment).total_seconds()))


def _mail_worker():
    from appointments.jobs import HEARTBEAT_NAME
    from appointments.models import WorkerHeartbeat

    now = timezone.now()
    beat = WorkerHeartbeat.objects.filter(name=HEARTBEAT_NAME).values_list("beat_at", flat=True).first()
    state = OK if beat is not None and now - beat <= WORKER_STALE_AFTER else DEGRADED
    return {"state": state, "last_heartbeat_seconds_ago": _age_seconds(beat, now)}


def _outbox():
    from appointments.models import OutboundEmail

    now = timezone.now()
    pending = OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING)
    # How long the oldest message has been waiting: one never tried since it fell due, or one
    # that has failed since it was queued (a retry puts its next attempt in the future). A message
    # scheduled for later is not waiting yet.
    waiting_since = [
        pending.filter(attempts=0, next_attempt_at__lte=now).aggregate(t=Min("next_attempt_at"))["t"],
        pending.filter(attempts__gt=0).aggregate(t=Min("created_at"))["t"],
    ]
    oldest = min((moment for moment in waiting_since if moment is not None), default=None)
    state = OK if oldest is None or now - oldest <= OUTBOX_BEHIND_AFTER else DEGRADED
    return {"state": state, "oldest_pending_seconds": _age_seconds(oldest, now)}


def _client_addresses():
    # Whether the app tells its clients apart: "degraded" when nearly all the recent requests whose
    # client address counts came from one address (a proxy's, most likely: TRUSTED_PROXY_COUNT).
    from .network import one_address_for_all, recent_client_addresses

    requests, from_one = recent_client_addresses()
    state = DEGRADED if one_address_for_all(requests, from_one) else OK
    return {"state": state, "requests": requests, "from_one_address": round(from_one, 2)}


def readiness_report():
    """Each dependency's state and latency, and the site's: unavailable without PostgreSQL."""
    checks = {"postgresql": _timed(_postgresql), "redis": _timed(_redis)}
    if checks["postgresql"]["state"] == OK:
        checks["mail_worker"] = _timed(_mail_worker)
        checks["outbox"] = _timed(_outbox)
    else:
        checks["mail_worker"] = {"state": UNAVAILABLE}
        checks["outbox"] = {"state": UNAVAILABLE}
    checks["client_addresses"] = _timed(_client_addresses)
    if checks["postgresql"]["state"] != OK:
        status = UNAVAILABLE
    elif any(check["state"] != OK for check in checks.values()):
        status = DEGRADED
    else:
        status = OK
    return {"status": status, "checks": checks}
