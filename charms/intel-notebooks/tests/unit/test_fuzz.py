"""Hooks never crash, whatever the config, relation data and API faults (dsplib.fuzz)."""

from pathlib import Path

import pytest
from hypothesis import strategies as st
from ops import testing

import notebooks
from charm import IntelNotebooksCharm
from dsplib import fuzz
from dsplib.validation import InvalidConfig

SPEC = fuzz.CharmSpec(
    IntelNotebooksCharm,
    app="intel-notebooks",
    charm_dir=Path(__file__).parents[2],
    config={
        "images": st.sampled_from(["- registry.example/jupyter:v1\n", "[]", "- a\n- b\n"]),
        "node-selector": st.sampled_from(["node-role.kubernetes.io/worker=", "zone=a,disk=ssd"]),
        "omp-num-threads": st.sampled_from(["auto", "4"]),
        "omp-wait-policy": st.sampled_from(["passive", "active"]),
        "onednn-max-cpu-isa": st.sampled_from(["ALL", "AVX2", "AVX512_CORE_AMX"]),
    },
    params={"image-report": {}},
)


def test_hooks_hold_their_properties():
    fuzz.check_hooks(SPEC)


# -- failing examples the fuzzing found, kept as regression tests ---------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (403, testing.BlockedStatus("run: juju trust intel-notebooks --scope=cluster")),
        (
            503,
            testing.WaitingStatus(
                "cannot read pre-pull progress: Kubernetes API 503: Error; retrying"
            ),
        ),
    ],
)
def test_a_failed_read_of_prepull_progress_names_the_fix(kube, code, status):
    """A 403 here once gave Waiting instead of the trust command."""
    ctx = testing.Context(IntelNotebooksCharm, app_name="intel-notebooks")
    dispatcher = testing.Relation("pod-defaults", remote_app_name="resource-dispatcher")
    out = ctx.run(ctx.on.install(), testing.State(leader=True, relations={dispatcher}))
    kube.fail(code, verb="get")
    out = ctx.run(ctx.on.start(), out)  # start does not reconcile: only the status reads
    assert out.unit_status == status


@pytest.mark.parametrize("images", ["2024-13-45", "- !!float x\n", "[" * 3000])
def test_images_pyyaml_cannot_construct_are_invalid_config(images):
    """`2024-13-45` raised ValueError from PyYAML's date constructor in config-changed."""
    with pytest.raises(InvalidConfig, match="config images"):
        notebooks.parse_images(images)
