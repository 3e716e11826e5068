"""Shared code of the Data Science Platform charms.

Modules:
    kubernetes: render, label, apply, prune and remove Kubernetes objects (no ops).
    manifests: the same as a charm component, leader-only, with the inventory in charm state.
    observability: prometheus_scrape and grafana_dashboard providers, Loki log forwarding.
    certificates: webhook CA and server certificate kept in a Juju secret.
    dispatch: per-profile objects sent to resource-dispatcher (kubernetes_manifest).
    sdi: Kubeflow's serialized-data-interface wire format.
    pebble: replan only when the layer changed; service and check state.
    s3: a small S3 client (Signature V4 over httpx2) with typed errors, for Ceph RGW.
    testing: a fake lightkube client for unit tests.
    logs: keeps the HTTP stack's per-request DEBUG records out of Juju's log.

Importing the package quiets the HTTP stack's loggers (see `logs`), so every charm gets it
from whatever part of dsplib it uses first.
"""

from dsplib.logs import quiet_transport_loggers

quiet_transport_loggers()
