"""The suite keeps its own promises: it stays on this machine and reads nothing outside the repository."""

from __future__ import annotations

import re
import socket
import urllib.parse
from pathlib import Path

import pytest
from conftest import NetworkGuard, OffTheMachine

from spotify_tophits.config.settings import ENDPOINT_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
# TEST-NET-1 (RFC 5737): an address that is never anyone's, so even a broken guard reaches no one.
OUTSIDE = ("192.0.2.1", 443)


@pytest.mark.parametrize("how", ["connect", "connect_ex", "create_connection"])
def test_the_network_guard_refuses_a_connection_off_the_machine(network_guard: NetworkGuard, how: str):
    with pytest.raises(OffTheMachine):
        if how == "create_connection":
            socket.create_connection(OUTSIDE, timeout=1)
        else:
            with socket.socket() as sock:
                getattr(sock, how)(OUTSIDE)

    assert [address for _, address in network_guard.refused] == [OUTSIDE]
    network_guard.refused.clear()  # refused as it should be: the guard need not fail this test


def test_the_network_guard_lets_loopback_through(network_guard: NetworkGuard):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass

    assert network_guard.refused == []


def test_every_endpoint_variable_points_at_a_closed_loopback_port(isolated_environment: dict[str, str]):
    for variable in ENDPOINT_VARIABLES.values():
        url = urllib.parse.urlsplit(isolated_environment[variable])
        assert (url.hostname, url.port) == ("127.0.0.1", 9), variable


def test_nothing_in_the_repository_reads_the_shared_folder_beside_the_checkout():
    # A path component named shared (quoted, or between slashes) in any file the suite or CI uses.
    component = re.compile(r"[\"'/\\]shared[\"'/\\]")
    files = [
        ROOT / ".ci" / "run",
        *(
            path
            for folder in ("tests", "spotify_tophits", "benchmarks")
            for path in (ROOT / folder).rglob("*")
            if path.is_file() and path.suffix in (".py", ".md", ".json", ".toml")
        ),
    ]

    offenders = [str(path.relative_to(ROOT)) for path in files if component.search(path.read_text(encoding="utf-8"))]

    assert len(files) > 80
    assert offenders == []
