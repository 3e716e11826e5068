"""The tinyproxy fixtures skip with the install command where it is missing, and fail in CI."""

import pytest

TEST = "def test_proxy(tinyproxy):\n    assert tinyproxy.url\n"


@pytest.fixture
def without_tinyproxy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(pytester.path))  # no tinyproxy in there
    pytester.makeconftest('pytest_plugins = ["pytest_tinyproxy"]')
    pytester.makepyfile(TEST)
    return pytester


def test_missing_tinyproxy_skips_and_says_why(without_tinyproxy: pytest.Pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = without_tinyproxy.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*tinyproxy is not installed: apt-get install*tinyproxy*"])


def test_missing_tinyproxy_fails_in_ci(without_tinyproxy: pytest.Pytester, monkeypatch):
    monkeypatch.setenv("CI", "1")
    result = without_tinyproxy.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*tinyproxy is not installed*CI must run the proxy tests*"])


def test_the_proxy_is_stopped_by_its_pid(tinyproxy):
    """After remove() nothing listens on its port and its directory is gone."""
    import socket

    process = tinyproxy._process
    tinyproxy.remove()
    assert process.poll() is not None
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", tinyproxy.port)) != 0
    assert not tinyproxy.dir.exists()
