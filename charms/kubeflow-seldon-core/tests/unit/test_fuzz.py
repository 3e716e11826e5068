"""Hooks never crash, whatever the config, relation data and API faults (dsplib.fuzz)."""

from pathlib import Path

from hypothesis import strategies as st

from charm import SeldonCoreCharm
from dsplib import fuzz

SPEC = fuzz.CharmSpec(
    SeldonCoreCharm,
    app="seldon-core",
    charm_dir=Path(__file__).parents[2],
    relations={
        "gateway-info": fuzz.GATEWAY_INFO,
        "s3-credentials": fuzz.S3,
        "logging": fuzz.LOKI,
    },
    config={
        "log-level": st.sampled_from(["debug", "info", "error"]),
        "istio-gateway": st.sampled_from(["kubeflow/kubeflow-gateway", "kubeflow-gateway"]),
        "executor-cpu-request": st.sampled_from(["100m", "1", "0.5"]),
        "executor-memory-limit": st.sampled_from(["1Gi", "512Mi"]),
        "executor-image": st.sampled_from(["registry.example/seldon-core-executor:1.17.1"]),
        "model-secret-name": st.sampled_from(["models", "seldon-init-container-secret"]),
    },
    # The webhook certificate the leader keeps in an application secret, sound or damaged.
    own_secrets={"webhook-certificate": fuzz.webhook_certificate("seldon-webhook-service")},
)


def test_hooks_hold_their_properties():
    fuzz.check_hooks(SPEC)
