"""The mail worker killed (SIGKILL) while sending: after a restart every message is sent at least once,
and none recorded as sent is sent again."""

import asyncio
import collections
import os
import re
import signal
import subprocess
import threading

import pytest
from aiosmtpd.controller import Controller

from appointments.models import OutboundEmail
from appointments.services import outbound_email_enqueue
from tests.servers import PYTHON, ROOT, free_port

from .conftest import site_env, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True), pytest.mark.slow]

MESSAGES = 5
STALL_AT = 3


class StallingServer:
    """Receives every message; holds the STALL_AT-th one before answering, until told to let go."""

    def __init__(self):
        self.received = []
        self.stalled = threading.Event()
        self.let_go = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        message_id = re.search(r"^Message-ID: (\S+)", envelope.content.decode(), re.M | re.I).group(1)
        self.received.append(message_id)
        if len(self.received) == STALL_AT:
            self.stalled.set()
            for _ in range(200):
                if self.let_go.is_set():
                    break
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


def worker(port, *args):
    env = site_env(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port), EMAIL_TIMEOUT="5")
    return subprocess.Popen(
        [PYTHON, "manage.py", "mail_worker", "--interval", "0.2", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_killed_worker_resends_only_what_it_had_not_recorded(tmp_path):
    emails = [
        outbound_email_enqueue(
            dedupe_key=f"fault:{number}", to=f"patient{number}@example.com", subject="Hello", body="Hi"
        )
        for number in range(MESSAGES)
    ]
    port = free_port()
    smtp = StallingServer()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        running = worker(port)
        try:
            assert smtp.stalled.wait(timeout=30), "the worker never reached the third message"
            sent_before_kill = set(
                OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).values_list("pk", flat=True)
            )
            os.kill(running.pid, signal.SIGKILL)
            running.wait(timeout=10)
        finally:
            if running.poll() is None:
                running.kill()
            smtp.let_go.set()
        assert len(sent_before_kill) == STALL_AT - 1

        # The restarted worker finds the killed one's message pending again (its transaction died with it).
        wait_for(
            lambda: (
                OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).count()
                == MESSAGES - len(sent_before_kill)
            ),
            timeout=10,
        )
        restarted = worker(port, "--once")
        _out, err = restarted.communicate(timeout=60)
        assert restarted.returncode == 0, err.decode()[-2000:]
    finally:
        controller.stop()

    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {OutboundEmail.Status.SENT}
    counts = collections.Counter(smtp.received)
    ids = {email.pk: f"<outbox-{email.pk}@clinic.example>" for email in emails}
    # Every message at least once; those recorded as sent before the kill exactly once.
    assert all(counts[message_id] >= 1 for message_id in ids.values())
    assert all(counts[ids[pk]] == 1 for pk in sent_before_kill)
    # The one in the window (accepted by the server, not yet committed) is the only one sent twice.
    assert sorted(counts.values()) == [1] * (MESSAGES - 1) + [2]
