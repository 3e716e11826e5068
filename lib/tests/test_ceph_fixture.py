"""The Ceph RGW fixtures skip with the reason where Ceph is missing, and fail in CI."""

import pytest

TEST = "def test_s3(ceph_rgw):\n    assert ceph_rgw.endpoint\n"


@pytest.fixture
def without_ceph(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PATH", str(pytester.path))  # nothing of Ceph in there
    pytester.makeconftest('pytest_plugins = ["pytest_ceph_rgw"]')
    pytester.makepyfile(TEST)
    return pytester


def test_missing_ceph_skips_and_says_why(without_ceph: pytest.Pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = without_ceph.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*Ceph is not installed (missing ceph-mon*apt-get install*"])


def test_missing_ceph_fails_in_ci(without_ceph: pytest.Pytester, monkeypatch):
    monkeypatch.setenv("CI", "1")
    result = without_ceph.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Ceph is not installed*CI must run the S3 tests*"])
