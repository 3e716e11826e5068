"""The hook fuzzer finds each kind of fault it promises to find, and passes a sound charm."""

from pathlib import Path

import ops
import pytest
from hypothesis import Phase
from hypothesis import strategies as st

from dsplib import fuzz
from dsplib.status import add_statuses

CHARMCRAFT = {
    "name": "fuzzed",
    "requires": {"s3-credentials": {"interface": "s3", "limit": 1}},
    "config": {
        "options": {
            "name": {"type": "string", "default": "kubeflow"},
            "port": {"type": "int", "default": 80},
        }
    },
    "actions": {"report": {"params": {"format": {"type": "string"}}}},
}


class SoundCharm(ops.CharmBase):
    """Validates its config, blocks naming the option, never shows the secret key."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        framework.observe(self.on.collect_unit_status, self._status)
        framework.observe(self.on.report_action, self._report)

    def _problem(self) -> str:
        name = self.config.get("name")
        if not isinstance(name, str) or not name.isalnum():
            return "config name: letters and digits only"
        port = self.config.get("port")
        if not isinstance(port, int) or not 0 < port < 65536:
            return "config port: 1-65535"
        return ""

    def _status(self, event: ops.CollectStatusEvent) -> None:
        problem = self._problem()
        add_statuses(event, ops.BlockedStatus(problem) if problem else ops.ActiveStatus())

    def _report(self, event: ops.ActionEvent) -> None:
        if event.params.get("format") not in (None, "json"):
            event.fail("format: only json")
            return
        event.set_results({"name": self.config.get("name")})


class CrashesOnYamlScalars(SoundCharm):
    def _problem(self) -> str:
        if self.config.get("name") in fuzz.YAML_AMBIGUOUS:
            raise ValueError("not a name")
        return super()._problem()


class BlocksWithoutTheFix(SoundCharm):
    def _problem(self) -> str:
        return "something is wrong" if super()._problem() else ""


class LogsTheSecretKey(SoundCharm):
    def _problem(self) -> str:
        for relation in self.model.relations["s3-credentials"]:
            assert relation.app is not None
            ops.model.logger.info("keys: %s", dict(relation.data[relation.app]))
        return super()._problem()


class FailsSilently(SoundCharm):
    def _report(self, event: ops.ActionEvent) -> None:
        event.fail("")


def spec(charm: type[ops.CharmBase]) -> fuzz.CharmSpec:
    return fuzz.CharmSpec(
        charm,
        app="fuzzed",
        charm_dir=Path(__file__).parent,
        relations={"s3-credentials": fuzz.S3},
        config={"name": st.sampled_from(["kubeflow", "demo"])},
        charmcraft=CHARMCRAFT,
    )


def test_a_sound_charm_holds_the_properties():
    fuzz.check_hooks(spec(SoundCharm), max_examples=40)


@pytest.mark.parametrize(
    ("charm", "finding"),
    [
        (CrashesOnYamlScalars, "Uncaught ValueError"),
        (BlocksWithoutTheFix, "does not name its fix"),
        (LogsTheSecretKey, "a secret value appears"),
        (FailsSilently, "failed without a message"),
    ],
)
def test_each_fault_is_found(charm, finding):
    with pytest.raises(BaseException, match=finding) as raised:
        fuzz.check_hooks(spec(charm), max_examples=300, phases=[Phase.generate])
    assert raised.type is not KeyboardInterrupt


def test_blocked_and_waiting_messages_that_name_their_fix():
    s = spec(SoundCharm)
    assert fuzz.names_its_fix(ops.BlockedStatus("config port: 1-65535"), s)
    assert fuzz.names_its_fix(ops.BlockedStatus("integrate s3-credentials"), s)
    assert fuzz.names_its_fix(ops.BlockedStatus("run: juju trust fuzzed --scope=cluster"), s)
    assert not fuzz.names_its_fix(ops.BlockedStatus("invalid configuration"), s)
    assert not fuzz.names_its_fix(ops.BlockedStatus("portal is down"), s)  # not the option
    assert fuzz.names_its_fix(ops.WaitingStatus("waiting for S3 credentials"), s)
    assert fuzz.names_its_fix(ops.WaitingStatus("Kubernetes API 500; retrying"), s)
    assert not fuzz.names_its_fix(ops.WaitingStatus(""), s)


def test_a_blocked_message_may_name_the_related_application_to_fix():
    status = ops.BlockedStatus("S3 endpoint did not answer: check s3-integrator's endpoint")
    assert fuzz.names_its_fix(status, spec(SoundCharm), ["s3-integrator"])
    assert not fuzz.names_its_fix(status, spec(SoundCharm), ["glauth-k8s"])
