import pytest
from redis import Redis


@pytest.fixture
def redis_commands(monkeypatch):
    """The name of each command this process sends to Redis from now on, in order."""
    sent = []
    real = Redis.execute_command

    def record(self, *args, **kwargs):
        sent.append(args[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Redis, "execute_command", record)
    return sent
