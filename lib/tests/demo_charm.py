"""A minimal charm that wires every dsplib component, for the library's own tests."""

from pathlib import Path

import ops

from dsplib.certificates import WebhookCertificates
from dsplib.manifests import KubernetesManifests
from dsplib.observability import GrafanaDashboardProvider, LogForwarder, MetricsEndpointProvider

HERE = Path(__file__).parent / "demo"

META = {
    "name": "demo",
    "containers": {"workload": {"resource": "image"}},
    "resources": {"image": {"type": "oci-image"}},
    "provides": {
        "metrics-endpoint": {"interface": "prometheus_scrape"},
        "grafana-dashboard": {"interface": "grafana_dashboard"},
    },
    "requires": {"logging": {"interface": "loki_push_api"}},
}
CONFIG = {"options": {"greeting": {"type": "string", "default": "hello"}}}


def objects(greeting: str) -> list[dict]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "demo", "namespace": "demo-model"},
            "data": {"greeting": greeting},
        }
    ]


class DemoCharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.k8s = KubernetesManifests(self)
        self.metrics = MetricsEndpointProvider(
            self,
            jobs=[{"static_configs": [{"targets": ["*:8080"]}]}],
            alert_rules_dir=HERE / "prometheus_alert_rules",
        )
        self.dashboards = GrafanaDashboardProvider(
            self, dashboards_dir=HERE / "grafana_dashboards"
        )
        self.logs = LogForwarder(self)
        self.certs = WebhookCertificates(self, "demo-webhook")
        for event in (self.on.config_changed, self.on.upgrade_charm, self.on.update_status):
            framework.observe(event, self._reconcile)
        framework.observe(self.on.remove, self._on_remove)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _reconcile(self, event: ops.EventBase) -> None:
        self.k8s.reconcile(
            objects(str(self.config["greeting"])),
            verify=isinstance(event, ops.UpdateStatusEvent),
            force=isinstance(event, ops.UpgradeCharmEvent),
        )

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        self.k8s.remove(objects(str(self.config["greeting"])))

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        status = self.k8s.status()
        if status:
            event.add_status(status)
        event.add_status(ops.ActiveStatus())
