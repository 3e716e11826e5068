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
