"""Apache Flink Kubernetes Operator 1.15: settings, the two processes, what profiles receive.

Nothing here imports ops: the charm gathers config, relation data and the profile namespaces
it found, and this module decides the operator's configuration file, the Pebble layer of the
operator and the webhook, the webhook's keystore, the context of the Kubernetes templates and
the objects resource-dispatcher copies into every profile namespace. Unit tests check it
directly.

One container runs both processes of the upstream chart's Deployment (containers
`flink-kubernetes-operator` and `flink-webhook` of one pod there too), so they share a
network namespace: the operator keeps the upstream health port 8085 and serves metrics on
9999, the webhook serves 9443.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from dsplib import validation as check
from dsplib.s3_credentials import S3Connection

CONTAINER = "flink-operator"
OPERATOR = "operator"
WEBHOOK = "webhook"
SERVICES = (OPERATOR, WEBHOOK)
ENTRYPOINT = "/docker-entrypoint.sh"
# The image's `flink` user: the upstream Deployment runs the pod as 9999:9999.
FLINK_UID = 9999
CONF_DIR = "/opt/flink/conf"
CONFIG_FILE = f"{CONF_DIR}/config.yaml"
LOG4J_FILE = f"{CONF_DIR}/log4j-operator.properties"
CERT_DIR = "/certs"
KEYSTORE = f"{CERT_DIR}/keystore.p12"
ARTIFACTS_DIR = "/opt/flink/artifacts"

HEALTH_PORT = 8085
METRICS_PORT = 9999
WEBHOOK_PORT = 9443
# Port of the Prometheus reporter every Flink JobManager and TaskManager gets by default.
JOB_METRICS_PORT = 9249
CHECKS = {OPERATOR: "operator-ready", WEBHOOK: "webhook-ready"}

# Kubeflow's profile controller labels every profile namespace with this.
PROFILE_LABEL = ("app.kubernetes.io/part-of", "kubeflow-profile")
# Profile namespaces inject Istio sidecars, and Flink does not run behind one (no upstream
# support: FLINK-28171). Label and annotation both opt a pod out.
NO_SIDECAR = ("sidecar.istio.io/inject", "false")
# log4j2 level names the operator's log4j-operator.properties accepts for rootLogger.level.
LOG_LEVELS = ("debug", "info", "warn", "error")
MAX_PARALLELISM = 1000
PROMETHEUS_FACTORY = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"

JOB_ACCOUNT = "flink"
PODDEFAULT_NAME = "access-flink"
S3_PLUGIN_ENV = "ENABLE_BUILT_IN_PLUGINS"
# Options of the JVM Flink 1.19+ processes need on Java 17, which the upstream chart sets as
# operator defaults for every deployment (helm/flink-kubernetes-operator/conf/config.yaml).
JAVA17_OPTS = " ".join(
    [
        "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
        "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
        "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
        *(
            f"--add-opens=java.base/{package}=ALL-UNNAMED"
            for package in (
                "java.lang",
                "java.net",
                "java.io",
                "java.nio",
                "sun.nio.ch",
                "java.lang.reflect",
                "java.text",
                "java.time",
                "java.util",
                "java.util.concurrent",
                "java.util.concurrent.atomic",
                "java.util.concurrent.locks",
            )
        ),
    ]
)


@dataclass(frozen=True)
class Settings:
    """Checked config of the charm."""

    flink_image: str
    job_namespaces: tuple[str, ...]
    log_level: str
    reconcile_parallelism: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Check every option; InvalidConfig names the option and what it must be."""
        namespaces = tuple(
            check.dns_label("job-namespaces", ns)
            for ns in check.comma_list(config.get("job-namespaces"))
        )
        return cls(
            flink_image=check.oci_reference("flink-image", config.get("flink-image")),
            job_namespaces=namespaces,
            log_level=check.choice("log-level", config.get("log-level"), LOG_LEVELS),
            reconcile_parallelism=check.positive_int(
                "reconcile-parallelism",
                config.get("reconcile-parallelism"),
                maximum=MAX_PARALLELISM,
            ),
        )


@dataclass(frozen=True)
class Names:
    """Names derived from the application and its model (the operator's namespace)."""

    app: str
    namespace: str

    @property
    def webhook_service(self) -> str:
        """Service in front of the webhook (the certificate names it)."""
        return f"{self.app}-webhook"

    @property
    def webhook_configuration(self) -> str:
        """Name of both webhook configurations (cluster-scoped, so the model is in it)."""
        return f"{self.app}-{self.namespace}-webhook"

    @property
    def cluster_role(self) -> str:
        """ClusterRole (and binding) of the operator."""
        return f"{self.app}-{self.namespace}"

    @property
    def lease(self) -> str:
        """Lease of the operator's leader election, in the model's namespace."""
        return f"{self.app}-lease"

    @property
    def s3_secret(self) -> str:
        """Secret with the S3 settings in job namespaces."""
        return f"{self.app}-s3"


def watched_namespaces(settings: Settings, profiles: Iterable[str], own: str) -> list[str]:
    """The namespaces the operator watches: the configured list, else the profiles found.

    The operator reads an empty list as "every namespace" (JOSDK_ALL_NAMESPACES), which it
    has no permission for; with no profile yet it watches its own namespace, where nobody
    submits anything.
    """
    found = list(settings.job_namespaces) or sorted(set(profiles))
    return found or [own]


# -- the operator's configuration ------------------------------------------------------------


def _pod_opt_out() -> str:
    key, value = NO_SIDECAR
    return f"{key}:{value}"


def operator_config(settings: Settings, names: Names, namespaces: Iterable[str]) -> str:
    """config.yaml in FLINK_CONF_DIR: the operator's own settings and deployment defaults.

    Keys without the `kubernetes.operator.` prefix are defaults of every FlinkDeployment the
    operator runs (a deployment's own flinkConfiguration wins). The watched-namespace list is
    live: with dynamic namespaces the operator re-reads this file (every
    `dynamic.config.check.interval`) and starts or stops watching without a restart, so the
    Pebble layer does not carry it.
    """
    conf: dict[str, str] = {
        "kubernetes.operator.watched.namespaces": ",".join(namespaces),
        "kubernetes.operator.dynamic.namespaces.enabled": "true",
        "kubernetes.operator.dynamic.config.enabled": "true",
        "kubernetes.operator.dynamic.config.check.interval": "1 min",
        "kubernetes.operator.reconcile.parallelism": str(settings.reconcile_parallelism),
        "kubernetes.operator.health.probe.enabled": "true",
        "kubernetes.operator.health.probe.port": str(HEALTH_PORT),
        "kubernetes.operator.leader-election.enabled": "true",
        "kubernetes.operator.leader-election.lease-name": names.lease,
        "kubernetes.operator.user.artifacts.base.dir": ARTIFACTS_DIR,
        "kubernetes.operator.metrics.reporter.prom.factory.class": PROMETHEUS_FACTORY,
        "kubernetes.operator.metrics.reporter.prom.port": str(METRICS_PORT),
        # Defaults of every FlinkDeployment: no Istio sidecar, metrics for Prometheus.
        "kubernetes.jobmanager.annotations": _pod_opt_out(),
        "kubernetes.taskmanager.annotations": _pod_opt_out(),
        "kubernetes.jobmanager.labels": _pod_opt_out(),
        "kubernetes.taskmanager.labels": _pod_opt_out(),
        "metrics.reporter.prom.factory.class": PROMETHEUS_FACTORY,
        "metrics.reporter.prom.port": str(JOB_METRICS_PORT),
        "kubernetes.operator.default-configuration.flink-version.v1_19+"
        ".env.java.default-opts.all": JAVA17_OPTS,
    }
    return yaml.safe_dump(conf, sort_keys=True, width=1000)


def log4j_config(settings: Settings) -> str:
    """log4j-operator.properties: everything to the console, which Pebble (and Loki) read."""
    level = settings.log_level.upper()
    lines = [
        "monitorInterval = 30",
        f"rootLogger.level = {level}",
        "rootLogger.appenderRef.console.ref = ConsoleAppender",
        "appender.console.name = ConsoleAppender",
        "appender.console.type = CONSOLE",
        "appender.console.layout.type = PatternLayout",
        "appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %c{1} - %m%n",
        # The Kubernetes client logs every watch reconnect at INFO.
        "logger.fabric8.name = io.fabric8.kubernetes.client",
        "logger.fabric8.level = WARN",
    ]
    return "\n".join(lines) + "\n"


# -- the two processes -----------------------------------------------------------------------


def keystore_password(key_pem: str) -> str:
    """The keystore's password, derived from the key it protects.

    The webhook reads it from its environment; deriving it keeps it stable for as long as the
    certificate is (no restart on every hook) and new with every renewed key.
    """
    return hashlib.sha256(b"flink-webhook-keystore\0" + key_pem.encode()).hexdigest()[:32]


def pebble_layer(names: Names, unit_pod: str, password: str) -> dict[str, Any]:
    """Both processes, run by the image's entrypoint as the upstream chart runs them."""
    common = {
        "OPERATOR_NAMESPACE": names.namespace,
        "OPERATOR_NAME": names.app,
        "POD_NAME": unit_pod,
        "FLINK_CONF_DIR": CONF_DIR,
        "FLINK_PLUGINS_DIR": "/opt/flink/plugins",
        "LOG_CONFIG": f"-Dlog4j.configurationFile={LOG4J_FILE}",
        "JVM_ARGS": "",
    }
    webhook_env = {
        **common,
        "WEBHOOK_KEYSTORE_FILE": KEYSTORE,
        "WEBHOOK_KEYSTORE_TYPE": "pkcs12",
        "WEBHOOK_KEYSTORE_PASSWORD": password,
        "WEBHOOK_SERVER_PORT": str(WEBHOOK_PORT),
    }
    services = {
        name: {
            "override": "replace",
            "summary": f"Flink Kubernetes Operator {name}",
            "command": f"{ENTRYPOINT} {name}",
            "startup": "enabled",
            "user-id": FLINK_UID,
            "group-id": FLINK_UID,
            "environment": env,
        }
        for name, env in ((OPERATOR, common), (WEBHOOK, webhook_env))
    }
    checks = {
        CHECKS[OPERATOR]: {
            "override": "replace",
            "level": "ready",
            "period": "10s",
            "threshold": 3,
            "http": {"url": f"http://localhost:{HEALTH_PORT}/"},
        },
        CHECKS[WEBHOOK]: {
            "override": "replace",
            "level": "ready",
            "period": "10s",
            "threshold": 3,
            "tcp": {"port": WEBHOOK_PORT},
        },
    }
    return {"summary": "Apache Flink Kubernetes Operator", "services": services, "checks": checks}


def keystore(cert_pem: str, key_pem: str, ca_pem: str, password: str) -> bytes:
    """PKCS#12 keystore of the webhook's certificate chain and key, as the webhook reads it.

    The webhook loads WEBHOOK_KEYSTORE_FILE with WEBHOOK_KEYSTORE_TYPE and
    WEBHOOK_KEYSTORE_PASSWORD (FlinkOperatorWebhook.java) and reloads it when the file
    changes. Serialization salts the file, so it is written only when its content differs
    (`keystore_holds`).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    return pkcs12.serialize_key_and_certificates(
        b"webhook",
        key,  # type: ignore[arg-type]
        cert,
        [ca],
        serialization.BestAvailableEncryption(password.encode()),
    )


def keystore_holds(data: bytes, cert_pem: str, password: str) -> bool:
    """True when a keystore opens with `password` and holds the certificate `cert_pem`."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        _, cert, _ = pkcs12.load_key_and_certificates(data, password.encode())
    except ValueError:
        return False
    return cert is not None and cert == x509.load_pem_x509_certificate(cert_pem.encode())


def scrape_jobs(jobmanagers: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Prometheus jobs: the operator, and the Flink JobManagers found in job namespaces."""
    jobs: list[dict[str, Any]] = [
        {
            "job_name": OPERATOR,
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [f"*:{METRICS_PORT}"]}],
        }
    ]
    targets = sorted(set(jobmanagers))
    if targets:
        jobs.append(
            {
                "job_name": "jobmanagers",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"{t}:{JOB_METRICS_PORT}" for t in targets]}],
            }
        )
    return jobs


# -- cluster objects -------------------------------------------------------------------------


def manifest_context(names: Names, ca_cert: str) -> dict[str, Any]:
    """Variables of the templates in src/templates."""
    return {
        "app": names.app,
        "namespace": names.namespace,
        "names": names,
        "webhook_port": WEBHOOK_PORT,
        "ca_bundle": base64.b64encode(ca_cert.encode()).decode(),
    }


# -- what every profile namespace receives ---------------------------------------------------

_COMPONENT = "app.kubernetes.io/component"


def job_service_account() -> dict[str, Any]:
    """The account FlinkDeployments name as `serviceAccount` (the JobManager runs as it)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": JOB_ACCOUNT, "labels": {_COMPONENT: "flink-jobmanager"}},
    }


def job_role() -> dict[str, Any]:
    """What a JobManager does in its namespace: TaskManager pods, HA ConfigMaps, its Deployment.

    The rules of the upstream chart's job role (templates/rbac/_helpers.tpl jobRbacRules).
    """
    verbs = ["get", "list", "watch", "create", "update", "patch", "delete"]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": JOB_ACCOUNT, "labels": {_COMPONENT: "flink-jobmanager"}},
        "rules": [
            {"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": verbs},
            {
                "apiGroups": ["apps"],
                "resources": ["deployments", "deployments/finalizers"],
                "verbs": verbs,
            },
        ],
    }


def job_role_binding() -> dict[str, Any]:
    """Binds the job Role to the `flink` account of the same namespace.

    The subject has no namespace: the same manifest is copied into every profile.
    """
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": JOB_ACCOUNT, "labels": {_COMPONENT: "flink-jobmanager"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": JOB_ACCOUNT},
        "subjects": [{"kind": "ServiceAccount", "name": JOB_ACCOUNT}],
    }


def checkpoint_dirs(s3: S3Connection) -> tuple[str, str]:
    """s3:// directories of checkpoints and savepoints under the relation's bucket and path."""
    prefix = f"{s3.path}/" if s3.path else ""
    base = f"s3://{s3.bucket}/{prefix}flink"
    return f"{base}/checkpoints", f"{base}/savepoints"


def s3_secret(names: Names, s3: S3Connection) -> dict[str, Any]:
    """The Secret job namespaces receive: what Flink's S3 file system (S3A) needs.

    FlinkDeployments take the keys as environment (AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, which S3A's default credential chain reads), never in
    flinkConfiguration, which the operator and Flink log. All values go into `data`, so the
    object reads back exactly as sent.
    """
    checkpoints, savepoints = checkpoint_dirs(s3)
    values = {
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "S3_ENDPOINT": s3.endpoint,
        "S3_PATH_STYLE_ACCESS": "true" if s3.path_style else "false",
        "S3_BUCKET": s3.bucket,
        "FLINK_CHECKPOINTS_DIR": checkpoints,
        "FLINK_SAVEPOINTS_DIR": savepoints,
    }
    if s3.tls_ca:
        values["ca.crt"] = s3.tls_ca
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": names.s3_secret, "labels": {_COMPONENT: "flink-s3"}},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(values.items())},
    }


S3_ENV_KEYS = (
    "S3_ENDPOINT",
    "S3_PATH_STYLE_ACCESS",
    "FLINK_CHECKPOINTS_DIR",
    "FLINK_SAVEPOINTS_DIR",
)


def pod_default(names: Names, settings: Settings, *, with_s3: bool) -> dict[str, Any]:
    """The `access-flink` PodDefault notebooks and pipeline steps select.

    It tells the pod what to put in a FlinkDeployment: the image, the account, and with S3 the
    Secret's name and the non-secret settings (endpoint, checkpoint and savepoint
    directories). The keys themselves stay in the Secret, which FlinkDeployments reference.
    """
    env: list[dict[str, Any]] = [
        {"name": "FLINK_IMAGE", "value": settings.flink_image},
        {"name": "FLINK_SERVICE_ACCOUNT", "value": JOB_ACCOUNT},
    ]
    if with_s3:
        env.append({"name": "FLINK_S3_SECRET", "value": names.s3_secret})
        env += [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": names.s3_secret, "key": key}}}
            for key in S3_ENV_KEYS
        ]
    return {
        "apiVersion": "kubeflow.org/v1alpha1",
        "kind": "PodDefault",
        "metadata": {"name": PODDEFAULT_NAME, "labels": {_COMPONENT: "flink-access"}},
        "spec": {
            "desc": "Run Flink jobs (FlinkDeployments)"
            + (" with checkpoints in S3 (Ceph)" if with_s3 else ""),
            "selector": {"matchLabels": {PODDEFAULT_NAME: "true"}},
            "env": env,
        },
    }
