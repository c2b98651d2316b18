import pytest
from django.core.cache import cache


@pytest.fixture
def redis_commands(monkeypatch):
    """The name of each command the cache sends to Redis from now on, in order."""
    client = cache._cache.get_client(write=True)
    sent = []
    real = client.execute_command

    def record(*args, **kwargs):
        sent.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(client, "execute_command", record)
    return sent
