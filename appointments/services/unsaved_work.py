"""Staff work posted after the idle logout: kept for that browser, given back after the next sign-in."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from ..models import UnsavedStaffWork

# Posted fields never kept: the CSRF token is renewed at sign-in, and a stale one would refuse the save.
NOT_KEPT = {"csrfmiddlewaretoken"}


def _key_hash(browser_key: str) -> str:
    return hashlib.sha256(browser_key.encode()).hexdigest()


def _live():
    return UnsavedStaffWork.objects.filter(
        created_at__gt=timezone.now() - timedelta(hours=settings.UNSAVED_STAFF_WORK_HOURS)
    )


def unsaved_staff_work_keep(
    *, user_id: int, browser_key: str, path: str, data: QueryDict
) -> UnsavedStaffWork:
    """Keep what was posted to ``path``; it replaces anything kept earlier for the same page and browser."""
    pairs = [[name, value] for name, values in data.lists() if name not in NOT_KEPT for value in values]
    with transaction.atomic():
        UnsavedStaffWork.objects.filter(
            user_id=user_id, browser_key_hash=_key_hash(browser_key), path=path
        ).delete()
        work = UnsavedStaffWork(
            user_id=user_id, browser_key_hash=_key_hash(browser_key), path=path, data=pairs
        )
        work.full_clean()
        work.save()
    return work


def unsaved_staff_work_take(*, user_id: int, browser_key: str, path: str) -> QueryDict | None:
    """The fields kept for this user, browser and page, deleted as they are handed back; None if none."""
    with transaction.atomic():
        work = (
            _live()
            .select_for_update()
            .filter(user_id=user_id, browser_key_hash=_key_hash(browser_key), path=path)
            .first()
        )
        if work is None:
            return None
        work.delete()
    data = QueryDict(mutable=True)
    for name, value in work.data:
        data.appendlist(name, value)
    data._mutable = False
    return data


def unsaved_staff_work_left(*, user_id: int, browser_key: str) -> bool:
    """Whether this user's browser still has work kept, for another page."""
    return _live().filter(user_id=user_id, browser_key_hash=_key_hash(browser_key)).exists()


def unsaved_staff_work_delete_expired() -> int:
    """Delete the work kept longer than ``UNSAVED_STAFF_WORK_HOURS``; return how many were deleted."""
    cutoff = timezone.now() - timedelta(hours=settings.UNSAVED_STAFF_WORK_HOURS)
    deleted, _by_model = UnsavedStaffWork.objects.filter(created_at__lte=cutoff).delete()
    return deleted
