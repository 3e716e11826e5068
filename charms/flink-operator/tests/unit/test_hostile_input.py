"""Hostile config values and s3 databags: the charm answers with a status, never a hook error.

A sweep over values that broke charms before (empty, whitespace, separators only, unicode,
YAML-looking words, huge numbers, injection attempts into the operator's config.yaml and the
Flink map syntax), for every option and for every field of the s3 relation.
"""

from __future__ import annotations

import itertools

import pytest
import yaml
from ops import testing

import flink
from conftest import CONFIG_DEFAULTS, MODEL

HOSTILE_TEXT = [
    "",
    " ",
    ",,,",
    "yes",
    "null",
    "123",
    "ä-namespace",
    "a" * 300,
    "alice\nkubernetes.operator.watched.namespaces: kube-system",
    "alice:bob,carol:",
    "docker.io/library/flink:2.2.1-java17\nJVM_ARGS: -Xmx1m",
    "../../etc/passwd",
    "${jndi:ldap://x}",
]
HOSTILE_INT = [0, -1, 1, 1000, 1001, 2**31, -(2**63)]
S3_FIELDS = ("access-key", "secret-key", "bucket", "endpoint", "region", "s3-uri-style", "path")
S3_OK = {
    "access-key": "ACCESS",
    "secret-key": "SECRET",
    "bucket": "flink",
    "endpoint": "http://rgw.ceph.example:80",
    "s3-uri-style": "path",
}


def hostile_configs():
    for option, spec in CONFIG_DEFAULTS.items():
        values = HOSTILE_INT if isinstance(spec, int) else HOSTILE_TEXT
        for value in values:
            yield option, value


def run(ctx, kube, **state_fields) -> testing.State:
    container = testing.Container("flink-operator", can_connect=True)
    state = testing.State(leader=True, model=MODEL, containers={container}, **state_fields)
    return ctx.run(ctx.on.config_changed(), state)


@pytest.mark.parametrize(("option", "value"), list(hostile_configs()))
def test_hostile_config_blocks_or_works_and_never_escapes_into_config_yaml(
    ctx, kube, option, value
):
    out = run(ctx, kube, config={option: value})
    assert out.unit_status.name in ("active", "blocked", "waiting"), out.unit_status
    if out.unit_status.name == "blocked":
        assert out.unit_status.message.startswith(f"config {option}: expected")
        return
    path = out.get_container("flink-operator").get_filesystem(ctx) / flink.CONFIG_FILE[1:]
    conf = yaml.safe_load(path.read_text())
    # One key per option the charm writes: nothing a value carries becomes a key of its own.
    assert set(conf) == set(
        yaml.safe_load(
            flink.operator_config(
                flink.Settings.from_config(CONFIG_DEFAULTS), flink.Names("a", "b"), ["x"]
            )
        )
    )
    assert "kube-system" not in conf["kubernetes.operator.watched.namespaces"]


@pytest.mark.parametrize(
    ("field", "value"),
    list(itertools.product(S3_FIELDS, ["", " ", "null", "a" * 300, "http://", "\n", "ä"])),
)
def test_hostile_s3_data_gives_a_status_and_never_leaks_the_secret(ctx, kube, field, value):
    relations = [
        testing.Relation(e, remote_app_name="resource-dispatcher")
        for e in ("service-accounts", "roles", "role-bindings", "pod-defaults", "secrets")
    ]
    s3 = testing.Relation(
        "s3-credentials", remote_app_name="s3-integrator", remote_app_data={**S3_OK, field: value}
    )
    out = run(ctx, kube, relations={*relations, s3})
    assert out.unit_status.name in ("active", "blocked", "waiting"), out.unit_status
    assert "SECRET" not in out.unit_status.message
