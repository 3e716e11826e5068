"""Property-based tests of a charm's hooks: random config, relation data, events and API faults.

Every charm's unit tests declare a `CharmSpec` (its charm class, what remote applications may
write on each endpoint, examples of valid config) and call `check_hooks(spec)`. Hypothesis then
builds Scenario states from the charm's charmcraft.yaml: each config option by its type, valid,
nearly valid or hostile (YAML-ambiguous scalars, empty, whitespace, very long, non-ASCII,
newlines, `$VAR`, `{{ }}`); each relation's remote databags from the interface's wire contract,
with keys missing, extra, of the wrong type, unparsable or huge. It runs one to three events
the charm observes (lifecycle, pebble-ready, every relation event, secret-changed, remove and
every action) against a fake Kubernetes API and a fake S3 server that fail calls at random
(403, 404, 409, 422, 429, 500, timeouts). The properties, checked after every event:

- no hook raises (Scenario's UncaughtCharmError);
- a Blocked status names its fix: an option, endpoint or action of charmcraft.yaml, or a
  `juju` command; a Waiting status says what it waits for (`waiting`, `retrying` or an endpoint);
- an action succeeds or fails with a message;
- no secret (a value the strategies mark `Sensitive`, or any content of a Juju secret of the
  state) appears in a status, a log line, an action's results, logs or failure message.

Profiles: `ci` (the default; few examples, derandomized so every run tries the same ones) and
`fuzz` (DSP_FUZZ_PROFILE=fuzz, `tox -e fuzz`: at least 5,000 examples per charm). The counts
are printed per charm at the end of the pytest run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import random
import re
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from unittest import mock

import ops
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops import testing

from dsplib.testing import YAML_AMBIGUOUS, FakeKubernetes, api_error

# -- profiles --------------------------------------------------------------------------------

PROFILE_ENV = "DSP_FUZZ_PROFILE"
EXAMPLES_ENV = "DSP_FUZZ_EXAMPLES"  # overrides the profile's number of examples
_COMMON = {
    "deadline": None,
    "database": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
# CI: a fixed set of examples (derandomize) so that a red run is the code's fault, not luck's.
settings.register_profile("ci", max_examples=50, derandomize=True, **_COMMON)
settings.register_profile("fuzz", max_examples=5000, **_COMMON)


def profile() -> str:
    """The Hypothesis profile in force (`ci` unless DSP_FUZZ_PROFILE says otherwise)."""
    return os.environ.get(PROFILE_ENV, "ci")


# -- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sensitive:
    """A secret value (password, key): it goes where the contract says and must never leak."""

    value: str


@dataclass(frozen=True)
class JujuSecret:
    """A Juju secret the remote application owns and grants; its ID goes into the databag."""

    content: Mapping[str, str | Sensitive]


Value = str | Sensitive | JujuSecret

HOSTILE = (
    *YAML_AMBIGUOUS,
    "",
    " ",
    "\t",
    "\n",
    " padded ",
    "a\nb",
    "line: value\nother: 1",
    "- a\n- b",
    "{a: 1}",
    "[",
    "{",
    "'",
    '"',
    "\\",
    "*",
    "&anchor x",
    "!!python/object:os.system",
    "2024-13-45",
    "$VAR",
    "${HOME}",
    "$(id)",
    "{{ x }}",
    "{% if x %}",
    "naïve-ünïcödé-名前",
    "\u202e",
    "-1",
    "1.5",
    "nan",
    "x" * 300,
    "a,b,,c",
    "--flag",
    "http://",
    "https://host:99999",
    "/etc/passwd",
    "\x00",
)


def hostile_text() -> st.SearchStrategy[str]:
    """Strings that break careless parsing, from a fixed list and at random."""
    return st.one_of(
        st.sampled_from(YAML_AMBIGUOUS),
        st.sampled_from(HOSTILE),
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.text(alphabet=string.printable, min_size=1, max_size=20),
        st.sampled_from(["x", "ab", "é"]).map(lambda s: s * 20000),
    )


def near(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Values close to a valid one: cased, padded, cut, with a separator or newline added."""
    edits: list[Callable[[str], str]] = [
        str.upper,
        lambda s: f" {s}",
        lambda s: f"{s}\n",
        lambda s: s[:-1],
        lambda s: f"{s},",
        lambda s: f"{s},{s}",
        lambda s: s.replace("-", "_"),
        lambda s: f"{s}$VAR",
    ]
    return st.tuples(valid, st.sampled_from(edits)).map(lambda pair: pair[1](pair[0]))


def secret_token() -> st.SearchStrategy[Sensitive]:
    """A password or key distinctive enough that finding it anywhere means it leaked."""
    alphabet = string.ascii_letters + string.digits
    return st.text(alphabet=alphabet, min_size=16, max_size=24).map(lambda t: Sensitive(f"Z{t}"))


def wire_junk() -> st.SearchStrategy[str]:
    """Databag values of the wrong shape: other JSON types, broken JSON/YAML, huge text."""
    return st.one_of(
        st.sampled_from(
            ["1", "true", "null", "[]", "{}", '{"a":', "[1, 2]", '"quoted"', '{"url": 1}']
        ),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=6,
        ).map(json.dumps),
        hostile_text(),
    )


# -- what a remote application writes --------------------------------------------------------


@dataclass
class Contract:
    """What the remote side of an interface writes: valid value strategies per databag key."""

    app: Mapping[str, st.SearchStrategy[Value]] = field(default_factory=dict)
    unit: Mapping[str, st.SearchStrategy[Value]] = field(default_factory=dict)


def json_of(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    """JSON text of the values of `strategy`."""
    return strategy.map(json.dumps)


def yaml_of(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    """YAML text (safe_dump) of the values of `strategy`."""
    return strategy.map(lambda v: yaml.safe_dump(v, sort_keys=True))


def sdi(data: st.SearchStrategy[dict[str, Any]] | None = None) -> Contract:
    """A serialized-data-interface writer: `_supported_versions`, and `data` if it writes any."""
    versions = st.sampled_from(["- v1\n", "- v1\n- v2\n", "- v2\n", "[v1]", "- 1\n"])
    keys: dict[str, st.SearchStrategy[Value]] = {"_supported_versions": versions}
    if data is not None:
        keys["data"] = data.map(_sdi_dump)
    return Contract(app=keys)


def _sdi_dump(data: dict[str, Any]) -> str:
    plain = {k: v.value if isinstance(v, Sensitive) else v for k, v in data.items()}
    return yaml.safe_dump(plain, sort_keys=True)


URLS = st.sampled_from(
    ["http://rgw.ceph.example:80", "https://rgw.ceph.example", "http://10.0.0.5:7480"]
)
S3 = Contract(
    app={
        "bucket": st.sampled_from(["mlpipeline", "models", "backups", "spark"]),
        "access-key": st.sampled_from(["ACCESSKEY", "kubeflow"]),
        "secret-key": secret_token(),
        "endpoint": URLS,
        "region": st.sampled_from(["default", "us-east-1", ""]),
        "s3-uri-style": st.sampled_from(["path", "host"]),
        "path": st.sampled_from(["", "team/a", "/"]),
        "storage-class": st.sampled_from(["STANDARD"]),
        "tls-ca-chain": st.sampled_from(["[]", '["not a PEM"]']),
        "s3-api-version": st.sampled_from(["4", "2"]),
        "attributes": st.sampled_from(["[]", '["x-amz-server-side-encryption: AES256"]']),
    }
)
LOKI = Contract(
    unit={"endpoint": json_of(st.fixed_dictionaries({"url": URLS.map(lambda u: f"{u}/loki")}))}
)
GATEWAY_INFO = Contract(
    app={
        "gateway_name": st.sampled_from(["kubeflow-gateway", "gw"]),
        "gateway_namespace": st.sampled_from(["kubeflow", "istio-system"]),
        "gateway_up": st.sampled_from(["true", "false", "True"]),
    }
)
NOTHING = Contract()


# -- what the application itself stored -----------------------------------------------------


@functools.cache
def _certificates(service: str) -> tuple[Any, Any]:
    """Two certificates of different CAs for `service` in the model most examples use.

    Made once: key generation is slow.
    """
    from dsplib.certificates import generate, service_dns_names

    names = service_dns_names(service, MODEL_NAMES[0])
    return generate(names), generate(names)


def _certificate_variants(good: dict[str, str], other: dict[str, str]) -> list[dict[str, str]]:
    return [
        good,
        {**good, "tls-cert": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
        {**good, "tls-key": good["tls-key"][:60]},
        {**good, "tls-key": other["tls-key"]},
        {**good, "ca-cert": other["ca-cert"]},
        {**good, "tls-cert": good["tls-key"], "tls-key": good["tls-cert"]},
        {**good, "tls-cert": good["ca-cert"]},
        {**good, "not-after": good["not-after"].split("+")[0]},
        {**good, "not-after": "9999-99-99"},
        {**good, "dns-names": ""},
        {k: v for k, v in good.items() if k != "tls-key"},
    ]


@st.composite
def webhook_certificate(draw: st.DrawFn, service: str) -> dict[str, Value]:
    """Content of the `dsplib.certificates` secret of the webhook Service `service`.

    Sound, damaged in one field, or junk: what a hand edit or a truncation may leave.
    """
    good, other = (c.to_content() for c in _certificates(service))
    content: dict[str, Value] = dict(
        draw(
            st.one_of(
                st.sampled_from(_certificate_variants(good, other)),
                st.dictionaries(
                    st.sampled_from(sorted(good)), hostile_text(), min_size=1, max_size=5
                ),
            )
        )
    )
    key = content.get("tls-key")
    if isinstance(key, str) and len(key) >= 12:  # what `secret_values` counts as a secret
        content["tls-key"] = Sensitive(key)
    return content


# -- the charm under test --------------------------------------------------------------------


@dataclass
class CharmSpec:
    """A charm and what its fuzzing needs to know beyond charmcraft.yaml."""

    charm_type: type[ops.CharmBase]
    app: str
    charm_dir: Path
    # Remote contract per endpoint; endpoints not listed get random keys only.
    relations: Mapping[str, Contract] = field(default_factory=dict)
    # Valid config values per option (the default is always one), to explore past validation.
    config: Mapping[str, st.SearchStrategy[Any]] = field(default_factory=dict)
    # Valid action parameters, per action and parameter.
    params: Mapping[str, Mapping[str, st.SearchStrategy[Any]]] = field(default_factory=dict)
    # Puts what the cluster already holds (CRDs, nodes, profiles) into the fake.
    cluster: Callable[[FakeKubernetes], None] = lambda _: None
    # Names a Blocked message may use besides options, endpoints and `juju ...`.
    fixes: Sequence[str] = ()
    # charmcraft.yaml as a dict, for a charm without one on disk (the library's own tests).
    charmcraft: Mapping[str, Any] | None = None
    # Secrets the application owns, by label, as an earlier revision, a hand edit or a
    # truncation may have left them (see `webhook_certificate`).
    own_secrets: Mapping[str, st.SearchStrategy[dict[str, Value]]] = field(default_factory=dict)

    @functools.cached_property
    def meta(self) -> dict[str, Any]:
        """charmcraft.yaml."""
        if self.charmcraft is not None:
            return dict(self.charmcraft)
        return yaml.safe_load((self.charm_dir / "charmcraft.yaml").read_text())

    def context(self) -> testing.Context:
        """A Scenario context for one hook (Scenario finds charmcraft.yaml by itself)."""
        if self.charmcraft is None:
            return testing.Context(self.charm_type, app_name=self.app)
        meta = {k: v for k, v in self.meta.items() if k not in ("config", "actions")}
        return testing.Context(
            self.charm_type,
            meta=meta,
            config=self.meta.get("config"),
            actions=self.meta.get("actions"),
            app_name=self.app,
        )


@dataclass
class Example:
    """One generated case: the initial state, the events and what counts as secret."""

    state: testing.State
    events: list[Callable[[testing.Context, testing.State], Any]]  # (context, current state)
    names: list[str]
    secrets: set[str]
    kube_faults: float
    s3_faults: float
    rng: random.Random

    def __repr__(self) -> str:
        """What Hypothesis prints for a failing example: enough to write it as a test."""
        relations = [
            {
                "endpoint": r.endpoint,
                "app": r.remote_app_name,
                "app_data": _short(r.remote_app_data),
                "units_data": {u: _short(d) for u, d in r.remote_units_data.items()},
            }
            for r in self.state.relations
            if isinstance(r, testing.Relation)
        ]
        return repr(
            {
                "events": self.names,
                "leader": self.state.leader,
                "model": self.state.model.name,
                "planned_units": self.state.planned_units,
                "config": _short(self.state.config),
                "relations": relations,
                "secrets": {s.id: _short(s.tracked_content) for s in self.state.secrets},
                "kube_faults": self.kube_faults,
                "s3_faults": self.s3_faults,
            }
        )


def _short(values: Mapping[Any, Any]) -> dict[Any, Any]:
    """Values with long strings cut, for reports."""
    return {
        k: f"{v[:60]}...({len(v)} chars)" if isinstance(v, str) and len(v) > 80 else v
        for k, v in values.items()
    }


# -- strategies from charmcraft.yaml ---------------------------------------------------------


def option_values(
    name: str, option: Mapping[str, Any], spec: CharmSpec, *, hostile: bool
) -> st.SearchStrategy:
    """Values Juju accepts for an option of this type: valid, or nearly valid and hostile."""
    kind = option.get("type", "string")
    valid: list[st.SearchStrategy[Any]] = []
    if "default" in option:
        valid.append(st.just(option["default"]))
    if name in spec.config:
        valid.append(spec.config[name])
    if kind == "boolean":
        return st.booleans()
    if not hostile and valid:
        return st.one_of(*valid)
    if kind == "int":
        extremes = st.sampled_from([0, -1, 1, 65535, 65536, 2**31, -(2**63), 2**63 - 1])
        return st.one_of(extremes, st.integers(-100, 100000))
    if kind == "float":
        return st.floats(allow_nan=True, allow_infinity=True)
    text_valid = [v.filter(lambda x: isinstance(x, str)) for v in valid] or [st.just("x")]
    return st.one_of(near(st.one_of(*text_valid)), hostile_text())


@st.composite
def configs(draw: st.DrawFn, spec: CharmSpec) -> dict[str, Any]:
    """A config: most options default or valid, zero to two nearly valid or hostile.

    Mutating every option at once would stop every example at the first invalid option, and
    the code behind config validation would never run.
    """
    options = (spec.meta.get("config") or {}).get("options") or {}
    names = sorted(n for n, o in options.items() if o.get("type") != "secret")
    hostile = set(draw(st.lists(st.sampled_from(names), max_size=2))) if names else set()
    config: dict[str, Any] = {}
    for name in names:
        if name not in hostile and draw(st.booleans()):
            continue  # the default
        config[name] = draw(option_values(name, options[name], spec, hostile=name in hostile))
    return config


@st.composite
def databag(draw: st.DrawFn, contract: Mapping[str, st.SearchStrategy[Value]]) -> dict:
    """A remote databag: valid, or with one or two keys missing or junk, or extra keys."""
    keys = sorted(contract)
    broken = set(draw(st.lists(st.sampled_from(keys), max_size=2))) if keys else set()
    bag: dict[str, Value] = {}
    for key in keys:
        if key not in broken:
            bag[key] = draw(contract[key])
        elif draw(st.booleans()):
            bag[key] = draw(wire_junk())
    if not contract or draw(st.integers(0, 4)) == 0:
        extra = st.text(alphabet=string.ascii_lowercase + "-_.", min_size=1, max_size=12)
        bag.update(draw(st.dictionaries(extra, wire_junk(), max_size=2)))
    return bag


REMOTE_APPS = ("remote", "oidc-gatekeeper", "istio-pilot", "s3-integrator", "glauth-k8s")


@dataclass
class _Secrets:
    found: set[str] = field(default_factory=set)
    juju: list[testing.Secret] = field(default_factory=list)

    def plain(self, value: Value) -> str:
        """The databag text of a value, remembering secrets."""
        if isinstance(value, Sensitive):
            self.found.add(value.value)
            return value.value
        if isinstance(value, JujuSecret):
            content = {k: self.plain(v) for k, v in value.content.items()}
            # Juju's ID format (secret:<20 of [0-9a-z]>); not from `random`, which Hypothesis
            # must control.
            secret_id = f"secret:fuzz{len(self.juju):016d}"
            secret = testing.Secret(tracked_content=content, id=secret_id)
            self.juju.append(secret)
            return secret.id
        return value

    def bag(self, values: Mapping[str, Value]) -> dict[str, str]:
        return {k: self.plain(v) for k, v in values.items()}


@st.composite
def relations(draw: st.DrawFn, spec: CharmSpec, secrets: _Secrets) -> list[testing.Relation]:
    """Zero to two relations per endpoint (one if the endpoint has a limit of one)."""
    meta = spec.meta
    found = []
    for role in ("requires", "provides"):
        for endpoint, info in sorted((meta.get(role) or {}).items()):
            most = 1 if info.get("limit") == 1 else 2
            contract = spec.relations.get(endpoint, NOTHING)
            for _ in range(draw(st.integers(0, most))):
                units = draw(st.integers(1, 2))
                found.append(
                    testing.Relation(
                        endpoint,
                        interface=info.get("interface"),
                        remote_app_name=draw(st.sampled_from(REMOTE_APPS)),
                        remote_app_data=secrets.bag(draw(databag(contract.app))),
                        remote_units_data={
                            i: secrets.bag(draw(databag(contract.unit))) for i in range(units)
                        },
                    )
                )
    return found


def action_params(spec: CharmSpec, action: str, info: Mapping[str, Any]) -> st.SearchStrategy:
    """Parameters of the declared types (Juju enforces those), each present or not."""
    params = info.get("params") or {}
    valid = spec.params.get(action, {})
    keys: dict[str, st.SearchStrategy[Any]] = {}
    for name, schema in params.items():
        kind = schema.get("type", "string")
        if "enum" in schema:
            values: st.SearchStrategy[Any] = st.sampled_from(schema["enum"])
        elif kind == "boolean":
            values = st.booleans()
        elif kind == "integer":
            values = st.integers(-5, 10**6)
        elif kind == "number":
            values = st.floats(allow_nan=False, allow_infinity=False)
        else:
            options = [hostile_text()]
            if name in valid:
                options = [valid[name], valid[name], near(valid[name]), *options]
            values = st.one_of(*options)
        keys[name] = values
    required = set(info.get("required") or [])
    return st.fixed_dictionaries(
        {k: v for k, v in keys.items() if k in required},
        optional={k: v for k, v in keys.items() if k not in required},
    )


LIFECYCLE = (
    "install",
    "start",
    "config_changed",
    "update_status",
    "upgrade_charm",
    "leader_elected",
    "remove",
)


Event = Callable[[testing.Context, testing.State], Any]


@st.composite
def events(draw: st.DrawFn, spec: CharmSpec, state: testing.State) -> tuple[str, Event]:
    """One event the charm may see in `state` (found again by name in later states)."""
    choices: list[tuple[str, Event]] = [
        (name, lambda ctx, _, n=name: getattr(ctx.on, n)()) for name in LIFECYCLE
    ]
    for container in state.containers:
        if container.can_connect:
            choices.append(
                (
                    f"{container.name}-pebble-ready",
                    lambda ctx, now, c=container.name: ctx.on.pebble_ready(now.get_container(c)),
                )
            )
    for rel in state.relations:
        if isinstance(rel, testing.Relation):
            choices += _relation_events(rel)
    for secret in state.secrets:
        if secret.owner is None:
            choices.append(
                (
                    "secret-changed",
                    lambda ctx, now, i=secret.id: ctx.on.secret_changed(now.get_secret(id=i)),
                )
            )
    for action, info in sorted((spec.meta.get("actions") or {}).items()):
        params = draw(action_params(spec, action, info))
        choices.append(
            (f"{action}-action", lambda ctx, _, a=action, p=params: ctx.on.action(a, params=p))
        )
    return draw(st.sampled_from(choices))


def _relation_events(rel: testing.Relation) -> list[tuple[str, Event]]:
    name, rid = rel.endpoint, rel.id
    found: list[tuple[str, Event]] = [
        (
            f"{name}-relation-created",
            lambda ctx, now: ctx.on.relation_created(now.get_relation(rid)),
        ),
        (
            f"{name}-relation-broken",
            lambda ctx, now: ctx.on.relation_broken(now.get_relation(rid)),
        ),
    ]
    for unit in rel.remote_units_data:
        found += [
            (
                f"{name}-relation-joined",
                lambda ctx, now, u=unit: ctx.on.relation_joined(
                    now.get_relation(rid), remote_unit=u
                ),
            ),
            (
                f"{name}-relation-changed",
                lambda ctx, now, u=unit: ctx.on.relation_changed(
                    now.get_relation(rid), remote_unit=u
                ),
            ),
            (
                f"{name}-relation-departed",
                lambda ctx, now, u=unit: ctx.on.relation_departed(
                    now.get_relation(rid), remote_unit=u, departing_unit=u
                ),
            ),
        ]
    return found


MODEL_NAMES = ("kubeflow", "kubeflow", "kubeflow", "null", "123", "2024-01-01", "yes")


@st.composite
def examples(draw: st.DrawFn, spec: CharmSpec) -> Example:
    """A state, one to three events, and the secrets the outputs must not show."""
    secrets = _Secrets()
    config = draw(configs(spec))
    options = (spec.meta.get("config") or {}).get("options") or {}
    for name, option in sorted(options.items()):
        if option.get("type") == "secret" and draw(st.booleans()):
            content = draw(
                st.one_of(
                    st.fixed_dictionaries({"key": secret_token()}),
                    st.dictionaries(
                        st.sampled_from(["key", "password", "x"]), secret_token(), min_size=1
                    ),
                )
            )
            config[name] = secrets.plain(JujuSecret(content))
        elif option.get("type") == "secret" and draw(st.booleans()):
            config[name] = f"secret:{'0' * 20}"  # a secret nobody granted (or that is gone)
    for name, value in list(config.items()):
        if isinstance(value, (Sensitive, JujuSecret)):
            config[name] = secrets.plain(value)
    for label, strategy in sorted(spec.own_secrets.items()):
        if draw(st.booleans()):
            content = {k: secrets.plain(v) for k, v in draw(strategy).items()}
            secret_id = f"secret:fuzzo{len(secrets.juju):015d}"  # as in _Secrets.plain
            secrets.juju.append(testing.Secret(content, id=secret_id, label=label, owner="app"))
    rels = draw(relations(spec, secrets))
    containers = {
        testing.Container(name, can_connect=draw(st.sampled_from([True, True, False])))
        for name in (spec.meta.get("containers") or {})
    }
    state = testing.State(
        leader=draw(st.sampled_from([True, True, False])),
        config=config,
        relations=rels,
        containers=containers,
        secrets=secrets.juju,
        model=testing.Model(name=draw(st.sampled_from(MODEL_NAMES))),
        planned_units=draw(st.sampled_from([1, 1, 0, 3])),
    )
    chosen = draw(st.lists(events(spec, state), min_size=1, max_size=3))
    return Example(
        state=state,
        events=[make for _, make in chosen],
        names=[name for name, _ in chosen],
        secrets=secrets.found,
        kube_faults=draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0])),
        s3_faults=draw(st.sampled_from([0.0, 0.0, 0.2, 1.0])),
        rng=draw(st.randoms(use_true_random=False)),
    )


# -- faults ----------------------------------------------------------------------------------

KUBE_FAULTS = (403, 404, 409, 422, 429, 500)


def kube_fault(rng: random.Random) -> Exception:
    """An error the Kubernetes API (or the way to it) may answer any call with."""
    from lightkube.core.exceptions import httpx as lk_httpx  # pyright: ignore[reportPrivateImportUsage]

    choice = rng.randrange(len(KUBE_FAULTS) + 2)
    if choice < len(KUBE_FAULTS):
        return api_error(KUBE_FAULTS[choice])
    request = lk_httpx.Request("GET", "https://kubernetes.default.svc")
    if choice == len(KUBE_FAULTS):
        return lk_httpx.ReadTimeout("timed out", request=request)
    return lk_httpx.ConnectError("connection refused", request=request)


class ChaoticKubernetes(FakeKubernetes):
    """FakeKubernetes whose every call fails with probability `rate`."""

    def __init__(self, rng: random.Random, rate: float):
        super().__init__()
        self.rng, self.rate = rng, rate

    def _record(self, verb: str, key: Any) -> None:
        super()._record(verb, key)
        if self.rate and self.rng.random() < self.rate:
            raise kube_fault(self.rng)


S3_ERRORS = (
    (403, "AccessDenied"),
    (403, "SignatureDoesNotMatch"),
    (404, "NoSuchBucket"),
    (404, "NoSuchKey"),
    (409, "BucketAlreadyExists"),
    (500, "InternalError"),
    (503, "SlowDown"),
)


class FakeS3:
    """An in-memory S3 server at the HTTP level (httpx2 MockTransport) that fails at random."""

    def __init__(self, rng: random.Random, rate: float):
        self.rng, self.rate = rng, rate
        self.buckets: dict[str, dict[str, bytes]] = {}

    def __call__(self, request: Any) -> Any:
        import httpx2

        if self.rate and self.rng.random() < self.rate:
            choice = self.rng.randrange(len(S3_ERRORS) + 3)
            if choice == len(S3_ERRORS):
                raise httpx2.ReadTimeout("timed out", request=request)
            if choice == len(S3_ERRORS) + 1:
                raise httpx2.ConnectError("Connection refused", request=request)
            if choice == len(S3_ERRORS) + 2:
                return httpx2.Response(200, content=b"<garbled", request=request)
            status, code = S3_ERRORS[choice]
            body = f"<Error><Code>{code}</Code><Message>fault</Message></Error>".encode()
            return httpx2.Response(status, content=body, request=request)
        return self._answer(request)

    def _answer(self, request: Any) -> Any:
        from urllib.parse import parse_qs, unquote

        import httpx2

        path = unquote(request.url.path).lstrip("/")
        bucket, _, key = path.partition("/")
        query = parse_qs(
            request.url.query.decode()
            if isinstance(request.url.query, bytes)
            else str(request.url.query),
            keep_blank_values=True,
        )
        method = request.method
        if not key:
            return self._bucket(method, bucket, query, request)
        objects = self.buckets.get(bucket)
        if objects is None:
            return _s3_error(404, "NoSuchBucket", request)
        if method == "PUT":
            objects[key] = request.content
            return httpx2.Response(200, headers={"etag": '"e"'}, request=request)
        if method == "DELETE":
            objects.pop(key, None)
            return httpx2.Response(204, request=request)
        if key not in objects:
            return _s3_error(404, "NoSuchKey", request)
        data = objects[key]
        headers = {"etag": '"e"', "content-length": str(len(data))}
        if method == "HEAD":
            return httpx2.Response(200, headers=headers, request=request)
        return httpx2.Response(200, content=data, request=request)

    def _bucket(self, method: str, bucket: str, query: dict, request: Any) -> Any:
        import httpx2

        if method == "PUT":
            self.buckets.setdefault(bucket, {})
            return httpx2.Response(200, request=request)
        if bucket not in self.buckets:
            return _s3_error(404, "NoSuchBucket", request)
        if method == "HEAD":
            return httpx2.Response(200, request=request)
        if method == "DELETE":
            del self.buckets[bucket]
            return httpx2.Response(204, request=request)
        if method == "POST":  # DeleteObjects
            for key in re.findall(r"<Key>(.*?)</Key>", request.content.decode()):
                self.buckets[bucket].pop(key, None)
            return httpx2.Response(200, content=b"<DeleteResult/>", request=request)
        return httpx2.Response(200, content=self._listing(bucket, query), request=request)

    def _listing(self, bucket: str, query: dict) -> bytes:
        from xml.sax.saxutils import escape

        prefix = query.get("prefix", [""])[0]
        delimiter = query.get("delimiter", [""])[0]
        keys = sorted(k for k in self.buckets[bucket] if k.startswith(prefix))
        contents, prefixes = [], set()
        for key in keys:
            rest = key[len(prefix) :]
            if delimiter and delimiter in rest:
                prefixes.add(prefix + rest.split(delimiter)[0] + delimiter)
                continue
            size = len(self.buckets[bucket][key])
            contents.append(
                f'<Contents><Key>{escape(key)}</Key><Size>{size}</Size><ETag>"e"</ETag>'
                "<LastModified>2026-01-01T00:00:00Z</LastModified></Contents>"
            )
        common = "".join(
            f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>"
            for p in sorted(prefixes)
        )
        return (
            "<ListBucketResult><IsTruncated>false</IsTruncated>"
            + "".join(contents)
            + common
            + "</ListBucketResult>"
        ).encode()


def _s3_error(status: int, code: str, request: Any) -> Any:
    import httpx2

    body = f"<Error><Code>{code}</Code></Error>".encode() if request.method != "HEAD" else b""
    return httpx2.Response(status, content=body, request=request)


@contextlib.contextmanager
def faults(example: Example, spec: CharmSpec) -> Iterator[ChaoticKubernetes]:
    """Route the charm's Kubernetes and S3 clients to fakes failing as the example says."""
    import httpx2

    from dsplib.manifests import KubernetesManifests
    from dsplib.s3 import S3Client

    kube = ChaoticKubernetes(example.rng, 0.0)
    spec.cluster(kube)
    kube.rate = example.kube_faults
    s3 = FakeS3(example.rng, example.s3_faults)

    def http(self: S3Client) -> httpx2.Client:
        if self._client is None:
            self._client = httpx2.Client(transport=httpx2.MockTransport(s3))
        return self._client

    with (
        mock.patch.object(KubernetesManifests, "client_factory", staticmethod(lambda _: kube)),
        mock.patch.object(S3Client, "_http", http),
    ):
        yield kube


# -- the properties --------------------------------------------------------------------------

JUJU_COMMAND = re.compile(r"\bjuju [a-z-]+")


def names_its_fix(status: Any, spec: CharmSpec, remote_apps: Sequence[str] = ()) -> bool:
    """Whether a Blocked or Waiting status tells the operator what to do.

    Blocked: names an option, an endpoint, an action, a `juju` command, a spec's fix or a
    related application (whose config is then the fix).

    Waiting: says what it waits for (`waiting`, `retrying` or an endpoint name).
    """
    meta = spec.meta
    message = status.message
    endpoints = [e for role in ("requires", "provides", "peers") for e in (meta.get(role) or {})]
    if status.name == "waiting":
        return bool(message) and (
            "waiting" in message or "retrying" in message or any(e in message for e in endpoints)
        )
    options = list((meta.get("config") or {}).get("options") or {})
    actions = list(meta.get("actions") or {})
    words = [*options, *endpoints, *actions, *spec.fixes, *remote_apps]
    return bool(JUJU_COMMAND.search(message)) or any(
        re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", message) for w in words
    )


def secret_values(state: testing.State, known: set[str]) -> set[str]:
    """Every secret the outputs must not show: marked values and Juju secret contents."""
    found = set(known)
    for secret in state.secrets:
        for content in (secret.tracked_content, secret.latest_content or {}):
            found.update(v for v in content.values() if isinstance(v, str) and len(v) >= 12)
    return found


def outputs(ctx: testing.Context, out: testing.State | None, failure: str) -> list[str]:
    """Everything an operator can read after the hook: statuses, logs, action output."""
    texts = [line.message for line in ctx.juju_log]
    if out is not None:
        texts += [out.unit_status.message, out.app_status.message]
    if ctx.action_results is not None:
        texts.append(json.dumps(ctx.action_results, default=str))
    texts += list(ctx.action_logs)
    texts.append(failure)
    return texts


@dataclass
class Tally:
    """Examples and events run, and failures, per charm (printed at the end of the session)."""

    examples: int = 0
    events: int = 0
    failures: int = 0
    reported: list[str] = field(default_factory=list)


TALLIES: dict[str, Tally] = {}


def run_example(spec: CharmSpec, example: Example) -> None:
    """Run the example's events in turn, checking the properties after each."""
    state = example.state
    tally = TALLIES.setdefault(spec.app, Tally())
    tally.examples += 1
    with faults(example, spec):
        for name, make in zip(example.names, example.events, strict=True):
            tally.events += 1
            secrets = secret_values(state, example.secrets)
            ctx = spec.context()
            event = make(ctx, state)
            out: testing.State | None = None
            failure = ""
            try:
                out = cast("testing.State", ctx.run(event, state))
            except testing.ActionFailed as err:
                failure = err.message
                assert failure.strip(), f"{name}: the action failed without a message"
                out = cast("testing.State | None", err.state)
            _check(spec, name, ctx, out, failure, secrets)
            if out is not None:
                state = _carry(out, state)


def _check(
    spec: CharmSpec,
    name: str,
    ctx: testing.Context,
    out: testing.State | None,
    failure: str,
    secrets: set[str],
) -> None:
    if out is not None:
        apps = [r.remote_app_name for r in out.relations if isinstance(r, testing.Relation)]
        for status in (out.unit_status, out.app_status):
            if status.name in ("blocked", "waiting"):
                assert names_its_fix(status, spec, apps), f"{name}: {status} does not name its fix"
    texts = outputs(ctx, out, failure)
    for secret in secrets:
        leaks = [t for t in texts if secret in t]
        assert not leaks, f"{name}: a secret value appears in {leaks[0][:200]!r}"


def _carry(out: testing.State, before: testing.State) -> testing.State:
    """The next hook's input: the output, with the same model (Scenario keeps the rest)."""
    return dataclasses.replace(out, model=before.model)


def check_hooks(spec: CharmSpec, max_examples: int | None = None, **overrides: Any) -> None:
    """Run the profile's examples against `spec`; Hypothesis reports the smallest failure.

    `overrides` are Hypothesis settings (the library's own tests skip shrinking).
    """
    tally = TALLIES.setdefault(spec.app, Tally())

    chosen = settings.get_profile(profile())
    if os.environ.get(EXAMPLES_ENV):
        chosen = settings(chosen, max_examples=int(os.environ[EXAMPLES_ENV]))
    if max_examples is not None:
        overrides["max_examples"] = max_examples
    if overrides:
        chosen = settings(chosen, **overrides)

    @settings(chosen)
    @given(examples(spec))
    def hooks_hold(example: Example) -> None:
        try:
            run_example(spec, example)
        except Exception:  # not Hypothesis' own control flow (BaseException)
            tally.failures += 1
            raise

    try:
        hooks_hold()
    except BaseException as err:
        tally.reported.append(f"{type(err).__name__}: {str(err)[:300]}")
        raise


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print examples, events and failing runs per charm."""
    if not TALLIES:
        return
    terminalreporter.section(f"hook fuzzing (profile {profile()})")
    for app, tally in sorted(TALLIES.items()):
        terminalreporter.write_line(
            f"{app}: {tally.examples} examples, {tally.events} events, "
            f"{tally.failures} failing runs, {len(tally.reported)} reported"
        )
        for line in tally.reported:
            terminalreporter.write_line(f"  {line}")


__all__ = [
    "GATEWAY_INFO",
    "LOKI",
    "NOTHING",
    "S3",
    "CharmSpec",
    "Contract",
    "JujuSecret",
    "Sensitive",
    "check_hooks",
    "json_of",
    "sdi",
    "secret_token",
    "yaml_of",
]
