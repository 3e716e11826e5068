#!/usr/bin/env python3
# Copyright 2026 The Data Science Platform authors
# See LICENSE file for licensing details.
"""Charm for Dex 2.41, the identity provider of Kubeflow, deployed as `dex-auth`.

One reconcile runs on every event and is idempotent: it validates config, publishes the issuer
and the ingress route, applies Dex's RBAC (leader only; no API write when nothing changed),
builds Dex's configuration from the oidc-client clients, the ldap relation and the extra
connectors, and writes it to the workload. Dex restarts only when that file or the LDAP bind
password changes. What it found is reported once, by collect-status.

The ldap and certificate_transfer libraries pull in pydantic; they are imported only while such
a relation exists, so the hooks of a deployment without them stay fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ops

import dex
from dsplib import kubernetes, validation
from dsplib.manifests import KubernetesManifests
from dsplib.observability import GrafanaDashboardProvider, LogForwarder, MetricsEndpointProvider
from dsplib.pebble import ensure_layer, push_if_changed, workload_status
from dsplib.reconcile import observe_reconcile
from dsplib.sdi import SdiEndpoint, SdiError, SdiNotReady
from dsplib.status import Problems, add_statuses

if TYPE_CHECKING:
    from charmlibs.interfaces.certificate_transfer import CertificateTransferRequires
    from charmlibs.interfaces.ldap import LdapRequirer

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
INGRESS_PREFIX = "/dex"
SCRAPE_JOBS = [
    {"metrics_path": "/metrics", "static_configs": [{"targets": [f"*:{dex.METRICS_PORT}"]}]}
]


class DexCharm(ops.CharmBase):
    """Runs Dex and turns relations into its clients and connectors."""

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self._stored.set_default(static_password_hash="")
        self.k8s = KubernetesManifests(self)
        self.ingress = SdiEndpoint(self, "ingress", "ingress", "requires", versions=["v1"])
        self.oidc_clients = SdiEndpoint(self, "oidc-client", "oidc-client", "requires")
        self.ldap = self._ldap_requirer()
        self.ca_transfer = self._ca_requirer()
        self.metrics = MetricsEndpointProvider(self, jobs=SCRAPE_JOBS)
        self.dashboards = GrafanaDashboardProvider(self)
        self.logs = LogForwarder(self)
        self.problems = Problems(self)

        observe_reconcile(self, self._reconcile)
        framework.observe(self.on.secret_changed, self._on_secret_changed)
        framework.observe(self.on.remove, self._on_remove)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _ldap_requirer(self) -> LdapRequirer | None:
        """The ldap library, while an ldap relation exists (it sends our user and group)."""
        if not self.model.relations["ldap"]:
            return None
        from charmlibs.interfaces.ldap import LdapRequirer, LdapRequirerData

        class TolerantLdapRequirer(LdapRequirer):
            """The library, minus its crash on URL lists holding non-strings.

            Its own relation-changed handler validates `urls` and `ldaps_urls` by calling
            `startswith` on each item and catches only TypeError and ValidationError: a
            provider sending `[1]` put the hook into error (charmlibs.interfaces.ldap,
            `LdapProviderBaseData.validate_ldap_urls`). Unreadable data is None, as the
            library returns for other bad data; our reconcile then blocks naming the key.
            """

            def _load_provider_data(self, provider_data: dict) -> Any:
                try:
                    return super()._load_provider_data(provider_data)
                except (AttributeError, ValueError):
                    return None

        data = LdapRequirerData(user=self.app.name, group=self.model.name)
        return TolerantLdapRequirer(self, "ldap", data=data)

    def _ca_requirer(self) -> CertificateTransferRequires | None:
        """The certificate_transfer library, while a receive-ca-cert relation exists."""
        if not self.model.relations["receive-ca-cert"]:
            return None
        from charmlibs.interfaces.certificate_transfer import CertificateTransferRequires

        return CertificateTransferRequires(self, "receive-ca-cert")

    # -- reconcile ---------------------------------------------------------------------------

    def _reconcile(self, event: ops.EventBase) -> None:
        self.problems.start()
        leaving = event.relation if isinstance(event, ops.RelationBrokenEvent) else None
        try:
            settings = dex.Settings.from_config(self.config)
        except validation.InvalidConfig as err:
            self.problems.add(ops.BlockedStatus(str(err)))
            return
        issuer = dex.issuer_url(settings, self.app.name, self.model.name)
        self.unit.set_ports(settings.port, dex.METRICS_PORT)
        self._publish_issuer(issuer)
        self._publish_route(settings, leaving)
        self.k8s.reconcile(
            self._manifests(),
            verify=isinstance(event, ops.UpdateStatusEvent),
            force=isinstance(event, ops.UpgradeCharmEvent),
        )
        clients = self._clients(leaving)
        ldap, bind_password = self._ldap_connectors(settings, leaving)
        if ldap and (taken := dex.taken_connector_id(ldap, settings)):
            self.problems.add(
                ops.BlockedStatus(
                    f"ldap: connector id {taken} is already in the connectors option; remove "
                    "that connector (its users get new Dex identities) or the ldap relation"
                )
            )
            ldap, bind_password = [], None
        try:
            config = dex.dex_config(
                settings=settings,
                issuer=issuer,
                clients=clients,
                ldap=ldap,
                static_hash=self._static_password_hash(settings),
                static_user_id=dex.static_user_id(self.model.uuid, settings.static_username),
            )
        except dex.NoLogin as err:
            # While an ldap relation is being set up, its own status says what is missing.
            if not (self.model.relations["ldap"] and self.problems.statuses()):
                self.problems.add(ops.BlockedStatus(str(err)))
            return
        if dex.nobody_can_log_in(config) and not self.model.relations["ldap"]:
            self.problems.add(
                ops.BlockedStatus(
                    "nobody can log in: set static-username and static-password, integrate "
                    "ldap, or set connectors"
                )
            )
        self._configure_workload(settings, dex.render(config), bind_password)

    def _publish_issuer(self, issuer: str) -> None:
        """dex-oidc-config: the plain `issuer-url` key oidc-gatekeeper reads."""
        if not self.unit.is_leader():
            return
        for relation in self.model.relations["dex-oidc-config"]:
            bag = relation.data[self.app]
            if bag.get("issuer-url") != issuer:
                bag["issuer-url"] = issuer

    def _publish_route(self, settings: dex.Settings, leaving: ops.Relation | None) -> None:
        """Ingress (SDI v1): istio-pilot routes /dex to our Service, keeping the path."""
        route = {
            "service": self.app.name,
            "port": settings.port,
            "prefix": INGRESS_PREFIX,
            "rewrite": INGRESS_PREFIX,
        }
        for relation in self.ingress.relations:
            if relation is leaving:
                continue
            try:
                self.ingress.send(relation, route)
            except SdiNotReady as err:
                self.problems.add(ops.WaitingStatus(str(err)))
            except SdiError as err:
                self.problems.add(ops.BlockedStatus(f"{err}; use istio-pilot's ingress"))

    def _clients(self, leaving: ops.Relation | None) -> list[dict[str, Any]]:
        """Static clients registered on oidc-client (oidc-gatekeeper's authservice)."""
        self.oidc_clients.publish_versions()
        clients: dict[str, dict[str, Any]] = {}
        for relation in self.oidc_clients.relations:
            if relation is leaving or relation.app is None:
                continue
            try:
                client = dex.static_client(self.oidc_clients.receive(relation))
                if client["id"] in clients:
                    self.problems.add(
                        ops.BlockedStatus(
                            f"oidc-client: client id {client['id']} is registered twice; "
                            f"remove the relation with {relation.app.name}"
                        )
                    )
                    continue
                clients[client["id"]] = client
            except SdiNotReady as err:
                self.problems.add(ops.WaitingStatus(str(err)))
            except SdiError as err:
                self.problems.add(
                    ops.BlockedStatus(f"{err}; fix {relation.app.name} or remove the relation")
                )
        return list(clients.values())

    def _ldap_connectors(
        self, settings: dex.Settings, leaving: ops.Relation | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The LDAP connectors and bind password from the ldap relation ([] and None if none).

        A problem with the relation leaves Dex running without it (the password database and
        other connectors still work) and blocks with what to fix.
        """
        relation = next((r for r in self.model.relations["ldap"] if r is not leaving), None)
        if relation is None or relation.app is None or self.ldap is None:
            return [], None
        app = relation.app.name
        data = dict(relation.data[relation.app])
        if not data:
            self.problems.add(ops.WaitingStatus(f"ldap: waiting for data from {app}"))
            return [], None
        try:
            dex.check_ldap_data(app, data)
            directory = self._directory(relation, data)
            cas = [settings.ldap_ca_cert, *self._received_cas(leaving)]
            connectors = dex.ldap_connectors(directory, settings, cas)
            unused = dex.unused_urls(directory)
            if unused:
                logger.warning(
                    "ldap: Dex takes one host, so %s is not dialled; for several domain "
                    "controllers give %s the domain's DNS name",
                    ", ".join(unused),
                    app,
                )
            return connectors, directory.bind_password
        except dex.LdapDataError as err:
            self.problems.add(ops.BlockedStatus(str(err)))
            return [], None

    def _directory(self, relation: ops.Relation, data: dict[str, str]) -> dex.Directory:
        assert self.ldap is not None
        assert relation.app is not None
        app = relation.app.name
        provided = self.ldap.consume_ldap_relation_data(relation=relation)
        if provided is None or not provided.bind_password:
            raise dex.LdapDataError(
                self._secret_problem(app, data["bind_password_secret"])
                or f"ldap: the ldap library rejects the data of {app}; check its urls, "
                "ldaps_urls, starttls and auth_method"
            )
        return dex.Directory(
            app=app,
            urls=tuple(provided.urls),
            ldaps_urls=tuple(provided.ldaps_urls),
            base_dn=provided.base_dn,
            bind_dn=provided.bind_dn,
            starttls=provided.starttls,
            bind_password=provided.bind_password,
        )

    def _secret_problem(self, app: str, secret_id: str) -> str | None:
        """Why the bind password secret cannot be read, or None when it can."""
        try:
            content = self.model.get_secret(id=secret_id).get_content()
        except (ops.SecretNotFoundError, ops.ModelError):
            return (
                f"ldap: cannot read the bind password secret of {app}; it must grant it to "
                f"this relation (re-integrate {app})"
            )
        if not content.get("password"):
            return f"ldap: the bind password secret of {app} has no password; fix {app}"
        return None

    def _received_cas(self, leaving: ops.Relation | None) -> list[str]:
        if self.ca_transfer is None:
            return []
        certificates: set[str] = set()
        for relation in self.model.relations["receive-ca-cert"]:
            if relation is not leaving:
                certificates |= self.ca_transfer.get_all_certificates(relation.id)
        return sorted(certificates)

    def _static_password_hash(self, settings: dex.Settings) -> str:
        """Bcrypt hash of static-password, kept across hooks while the password is the same."""
        if not (settings.enable_password_db and settings.static_password):
            return ""
        previous = str(self._stored.static_password_hash)
        current = dex.password_hash(settings.static_password, previous)
        if current != previous:
            self._stored.static_password_hash = current
        return current

    def _configure_workload(
        self, settings: dex.Settings, config_text: str, bind_password: str | None
    ) -> None:
        container = self.unit.get_container(dex.CONTAINER)
        if not container.can_connect():
            self.problems.add(ops.WaitingStatus("waiting for Pebble in the workload container"))
            return
        push_if_changed(container, dex.CONFIG_PATH, config_text)
        layer = dex.pebble_layer(
            namespace=self.model.name,
            config_text=config_text,
            settings=settings,
            bind_password=bind_password,
        )
        if ensure_layer(container, dex.SERVICE, layer):  # pyright: ignore[reportArgumentType]
            logger.info("Dex (re)started with a new configuration")

    def _manifests(self) -> list[dict[str, Any]]:
        return kubernetes.render(
            TEMPLATES, dex.manifest_context(app=self.app.name, namespace=self.model.name)
        )

    # -- secrets, removal and status ---------------------------------------------------------

    def _on_secret_changed(self, event: ops.SecretChangedEvent) -> None:
        """The provider rotated the bind password: track the new revision, restart Dex with it."""
        try:
            event.secret.get_content(refresh=True)
        except (ops.SecretNotFoundError, ops.ModelError):
            logger.warning("a rotated secret is no longer readable")
        self._reconcile(event)

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        """Delete the RBAC objects when the application goes (the lib checks that)."""
        self.k8s.remove(self._manifests())

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        workload = workload_status(
            self.unit.get_container(dex.CONTAINER),
            [dex.SERVICE],
            ["dex-ready"],
            starting="waiting for the Dex service to start",
            checking="waiting for Dex: {} not up",
        )
        add_statuses(event, *self.problems.statuses(), self.k8s.status(), workload)


if __name__ == "__main__":  # pragma: nocover
    ops.main(DexCharm)
