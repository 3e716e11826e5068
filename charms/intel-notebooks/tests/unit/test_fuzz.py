"""Hooks never crash, whatever the config, relation data and Kubernetes API faults (dsplib.fuzz)."""

from pathlib import Path

from hypothesis import strategies as st

from charm import IntelNotebooksCharm
from dsplib import fuzz

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

