"""Hypothesis profiles: ``dev`` (default locally), ``thorough``; with CI=true hypothesis loads its
own ``ci`` profile (derandomized, no deadline). Choose one with HYPOTHESIS_PROFILE."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])

if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif not os.environ.get("CI"):
    settings.load_profile("dev")


@pytest.fixture
def silent_server():
    """A server on 127.0.0.1 that accepts connections (the kernel's backlog) and never answers."""
    import socket
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    server.close()
