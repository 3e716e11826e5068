"""Config and parameter checks of the operations."""

import pytest

import jobs
from backup import BackupError
from dsplib.validation import InvalidConfig


def test_settings_from_config():
    settings = jobs.Settings.from_config(
        {"retention": 3, "volume-snapshot-class": " ceph-rbd ", "encryption-key-secret": None}
    )
    assert settings == jobs.Settings(3, "ceph-rbd", "")


@pytest.mark.parametrize(
    ("config", "option"),
    [
        ({"retention": True}, "retention"),
        ({"retention": 1001}, "retention"),
        ({"retention": 1, "volume-snapshot-class": "a b"}, "volume-snapshot-class"),
        ({"retention": 1, "encryption-key-secret": "my-key"}, "encryption-key-secret"),
    ],
)
def test_bad_settings_name_the_option(config, option):
    with pytest.raises(InvalidConfig) as info:
        jobs.Settings.from_config(config)
    assert info.value.option == option


def test_namespaces_parameter():
    assert jobs.parse_namespaces(" alice, bob ,alice,") == ("alice", "bob")
    assert jobs.parse_namespaces("") == ()
    with pytest.raises(BackupError, match=r"'\.\./x' is not a namespace name"):
        jobs.parse_namespaces("../x")
