"""Helpers shared by the integration tests: waiting, reading objects, the browser's way in."""

from __future__ import annotations

import http.cookiejar
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import jubilant
import pytest
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import Service


def wait_for(probe: Callable[[], Any], what: str, timeout: float, every: float = 5) -> Any:
    """Poll `probe` until it returns something truthy; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(every)
    pytest.fail(f"{what} did not happen within {timeout}s")


def get_or_none(kube: Client, resource: Any, name: str, namespace: str | None = None) -> Any:
    """The object, or None when it does not exist (yet)."""
    try:
        return kube.get(resource, name, namespace=namespace)
    except ApiError as err:
        if err.status.code == 404:
            return None
        raise


def ingress_url(juju: jubilant.Juju, kube: Client) -> str:
    if os.environ.get("DSP_INGRESS_URL"):
        return os.environ["DSP_INGRESS_URL"].rstrip("/")
    assert juju.model
    service = kube.get(Service, "istio-ingressgateway-workload", namespace=juju.model)
    balancer = service.status.loadBalancer if service.status else None
    ingress = (balancer.ingress if balancer else None) or []
    if not ingress:
        pytest.fail("the ingress gateway has no LoadBalancer address: set DSP_INGRESS_URL")
    address = ingress[0].ip or ingress[0].hostname
    return f"http://{address}"


class Browser:
    """Cookies and redirects, as a browser keeps them through the OIDC login."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path_or_url: str) -> tuple[str, str]:
        return self._open(urllib.request.Request(self._url(path_or_url)))  # noqa: S310

    def post(self, url: str, form: dict[str, str]) -> tuple[str, str]:
        data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(self._url(url), data=data, method="POST")  # noqa: S310
        return self._open(request)

    def _url(self, path_or_url: str) -> str:
        """An http(s) URL on the gateway (the only scheme the login ever redirects to)."""
        url = urllib.parse.urljoin(self.base + "/", path_or_url)
        assert url.startswith(("http://", "https://")), url
        return url

    def _open(self, request: urllib.request.Request) -> tuple[str, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.geturl(), response.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            return err.geturl(), err.read().decode(errors="replace")


# resource-dispatcher copies objects into namespaces carrying this label (its default config).
DISPATCHER_LABEL = "user.kubeflow.org/enabled"
# resource-dispatcher and what it needs (metacontroller, the PodDefault CRD from
# admission-webhook), and Kubeflow's profile controller with the roles and Istio it expects.
PROFILE_STACK = (
    ("metacontroller-operator", "4.11/stable"),
    ("resource-dispatcher", "latest/edge"),
    ("admission-webhook", "1.10/stable"),
    ("istio-pilot", "1.28/stable"),
    ("kubeflow-roles", "1.10/stable"),
    ("kubeflow-profiles", "1.10/stable"),
)


def deploy_profile_stack(juju: jubilant.Juju) -> None:
    """Deploy what turns a Profile into a namespace that resource-dispatcher serves."""
    for app, channel in PROFILE_STACK:
        juju.deploy(app, channel=channel, trust=True)


def create_profile(kube: Client, name: str) -> dict[str, str]:
    """Create a Kubeflow profile labelled for resource-dispatcher; its namespace's labels.

    The labels are those the profile controller gave, before the dispatcher label is added
    where it was missing (docs/how-to/spark.md).
    """
    from lightkube.generic_resource import create_global_resource
    from lightkube.resources.core_v1 import Namespace

    profile = create_global_resource("kubeflow.org", "v1", "Profile", "profiles")
    kube.apply(
        profile.from_dict(
            {
                "apiVersion": "kubeflow.org/v1",
                "kind": "Profile",
                "metadata": {"name": name},
                "spec": {"owner": {"kind": "User", "name": f"{name}@example.com"}},
            }
        ),
        field_manager="it",
    )
    namespace = wait_for(lambda: get_or_none(kube, Namespace, name), "profile namespace", 300)
    labels = dict((namespace.metadata.labels or {}) if namespace.metadata else {})
    if DISPATCHER_LABEL not in labels:
        kube.patch(Namespace, name, {"metadata": {"labels": {DISPATCHER_LABEL: "true"}}})
    return labels
