"""Kubeflow Spark Operator 2.5: settings, the two processes, and what profiles receive.

Nothing here imports ops: the charm gathers config and relation data, this module decides the
command lines of the controller and the webhook, the context of the Kubernetes templates and
the objects resource-dispatcher copies into every profile namespace (the Spark driver's
account, the `access-spark` PodDefault and the S3A Secret). Unit tests check it directly.

One container runs both processes of the upstream chart's two Deployments, so they share a
network namespace and need distinct ports: the controller keeps the upstream 8080 (metrics)
and 8081 (health), the webhook serves 9443 and moves its metrics to 8082 and health to 8083.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import truststore
from dsplib import validation as check
from dsplib.proxy import ProxySettings
from dsplib.s3_credentials import S3Connection

CONTAINER = "spark-operator"
CONTROLLER = "controller"
WEBHOOK = "webhook"
SERVICES = (CONTROLLER, WEBHOOK)
BINARY = "/usr/bin/spark-operator"
SPARK_HOME = "/opt/spark"
# The image's `spark` user: the processes run as it, as the upstream Deployments do.
SPARK_UID = 185
CERT_DIR = "/etc/k8s-webhook-server/serving-certs"
# spark-submit, which the controller runs for every SparkApplication, reads
# $SPARK_CONF_DIR/spark-defaults.conf for any property the application does not set.
SPARK_CONF_DIR = "/etc/spark-operator/conf"
SPARK_DEFAULTS = f"{SPARK_CONF_DIR}/spark-defaults.conf"
# Profile namespaces inject Istio sidecars; a sidecar keeps a finished driver pod running (the
# application never completes) and intercepts executor-to-driver traffic. Label and annotation
# both opt a pod out (the label also keeps it out of the injector's objectSelector).
NO_SIDECAR = ("sidecar.istio.io/inject", "false")

CONTROLLER_METRICS_PORT = 8080
CONTROLLER_HEALTH_PORT = 8081
WEBHOOK_METRICS_PORT = 8082
WEBHOOK_HEALTH_PORT = 8083
WEBHOOK_PORT = 9443
CHECKS = {CONTROLLER: "controller-ready", WEBHOOK: "webhook-ready"}
ROLES = ("driver", "executor")

# Kubeflow's profile controller labels every profile namespace with this (the PodDefault
# webhook selects namespaces by it too).
PROFILE_LABEL = ("app.kubernetes.io/part-of", "kubeflow-profile")
# What `--zap-log-level` accepts: controller-runtime's levelFlag.Set knows only these words
# (and positive verbosity numbers); anything else, `warn` included, stops the process at flag
# parsing (sigs.k8s.io/controller-runtime pkg/log/zap/flags.go, `levelStrings`).
LOG_LEVELS = ("debug", "info", "error")
BATCH_SCHEDULERS = ("", "volcano", "yunikorn")
MAX_CONTROLLER_THREADS = 1000

PODDEFAULT_NAME = "access-spark"
S3_MOUNT = "/etc/spark-s3"
S3_VOLUME = "spark-s3"
DEFAULT_REGION = "us-east-1"
TRUSTSTORE_FILE = "truststore.jks"
SIMPLE_CREDENTIALS = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"

# Webhooks the operator serves for its own resources: (version, singular, plural).
WEBHOOK_RESOURCES = (
    ("v1beta2", "sparkapplication", "sparkapplications"),
    ("v1beta2", "scheduledsparkapplication", "scheduledsparkapplications"),
    ("v1alpha1", "sparkconnect", "sparkconnects"),
)


@dataclass(frozen=True)
class Settings:
    """Validated charm config."""

    spark_image: str
    job_namespaces: tuple[str, ...]
    controller_threads: int
    batch_scheduler: str
    log_level: str
    resource_quota_enforcement: bool
    cluster_networks: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Check every option; raises InvalidConfig naming the first bad one."""
        return cls(
            spark_image=check.oci_reference("spark-image", config["spark-image"]),
            job_namespaces=_namespaces(config.get("job-namespaces", "")),
            controller_threads=check.positive_int(
                "controller-threads", config["controller-threads"], maximum=MAX_CONTROLLER_THREADS
            ),
            batch_scheduler=_batch_scheduler(config.get("batch-scheduler", "")),
            log_level=check.choice("log-level", config["log-level"], LOG_LEVELS),
            resource_quota_enforcement=_boolean(
                "resource-quota-enforcement", config.get("resource-quota-enforcement", False)
            ),
            cluster_networks=check.networks("cluster-cidrs", config.get("cluster-cidrs", "")),
        )

    @property
    def namespace_selector(self) -> str:
        """The controller's --namespace-selector, or '' when namespaces are listed."""
        return "" if self.job_namespaces else "=".join(PROFILE_LABEL)


def _namespaces(value: Any) -> tuple[str, ...]:
    if not isinstance(value, str):
        raise check.InvalidConfig("job-namespaces", "a comma-separated list of namespaces")
    names = check.comma_list(value)
    for name in names:
        if not check.DNS_LABEL.match(name):
            raise check.InvalidConfig(
                "job-namespaces", f"namespace names (lowercase, digits, '-'), not {name!r}"
            )
    return tuple(names)


def _batch_scheduler(value: Any) -> str:
    text = str(value or "").strip()
    if text not in BATCH_SCHEDULERS:
        raise check.InvalidConfig("batch-scheduler", "volcano, yunikorn or '' (off)")
    return text


def _boolean(option: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise check.InvalidConfig(option, "true or false")
    return value


@dataclass(frozen=True)
class Names:
    """Names of the objects the processes and the charm must agree on."""

    app: str
    namespace: str

    @property
    def webhook_service(self) -> str:
        """Service in front of the webhook (also the certificate's CN)."""
        return f"{self.app}-webhook-svc"

    @property
    def webhook_secret(self) -> str:
        """Secret where the webhook process keeps the certificate it generates."""
        return f"{self.app}-webhook-certs"

    @property
    def webhook_configuration(self) -> str:
        """Name of both webhook configurations (cluster-scoped, so the model is in it)."""
        return f"{self.app}-{self.namespace}-webhook"

    @property
    def controller_cluster_role(self) -> str:
        """ClusterRole (and binding) of the controller."""
        return f"{self.app}-{self.namespace}-controller"

    @property
    def webhook_cluster_role(self) -> str:
        """ClusterRole (and binding) of the webhook."""
        return f"{self.app}-{self.namespace}-webhook"

    @property
    def controller_lock(self) -> str:
        """Lease of the controller's leader election."""
        return f"{self.app}-controller-lock"

    @property
    def webhook_lock(self) -> str:
        """Lease of the webhook's leader election."""
        return f"{self.app}-webhook-lock"

    @property
    def driver_account(self) -> str:
        """ServiceAccount (and Role, RoleBinding) of Spark drivers in job namespaces."""
        return f"{self.app}-spark"

    @property
    def s3_secret(self) -> str:
        """Secret with the S3A settings in job namespaces."""
        return f"{self.app}-s3"


# -- the two processes ---------------------------------------------------------------------


def _logging_flags(settings: Settings) -> list[str]:
    return [f"--zap-log-level={settings.log_level}", "--zap-encoder=console"]


def _metrics_flags(port: int) -> list[str]:
    return [
        "--enable-metrics=true",
        f"--metrics-bind-address=:{port}",
        "--metrics-endpoint=/metrics",
        "--metrics-prefix=",
        "--metrics-labels=app_type",
    ]


def _leader_flags(lock: str, namespace: str) -> list[str]:
    return [
        "--leader-election=true",
        f"--leader-election-lock-name={lock}",
        f"--leader-election-lock-namespace={namespace}",
    ]


def controller_args(settings: Settings, names: Names) -> list[str]:
    """`controller start` with the upstream chart's arguments, our ports and namespaces."""
    args = [CONTROLLER, "start", *_logging_flags(settings)]
    if settings.job_namespaces:
        args.append(f"--namespaces={','.join(settings.job_namespaces)}")
    else:
        args.append(f"--namespace-selector={settings.namespace_selector}")
    args += [f"--controller-threads={settings.controller_threads}", "--enable-ui-service=true"]
    if settings.batch_scheduler:
        args += [
            "--enable-batch-scheduler=true",
            f"--default-batch-scheduler={settings.batch_scheduler}",
        ]
    args += _metrics_flags(CONTROLLER_METRICS_PORT)
    args.append(f"--health-probe-bind-address=:{CONTROLLER_HEALTH_PORT}")
    args += _leader_flags(names.controller_lock, names.namespace)
    args += [
        "--leader-election-lease-duration=15s",
        "--leader-election-renew-deadline=10s",
        "--leader-election-retry-period=2s",
        "--workqueue-ratelimiter-bucket-qps=50",
        "--workqueue-ratelimiter-bucket-size=500",
        "--workqueue-ratelimiter-max-delay=6h",
        "--driver-pod-creation-grace-period=10s",
        "--max-tracked-executor-per-app=1000",
        "--kube-api-qps=20",
        "--kube-api-burst=30",
        "--scheduled-spark-application-timestamp-precision=nanos",
        # spark-submit reads spark-defaults.conf even where the operator passes it a
        # --properties-file (spark-operator pkg/features/features.go, PR #2798).
        "--feature-gates=LoadSparkDefaults=true",
    ]
    return args


def webhook_args(settings: Settings, names: Names) -> list[str]:
    """`webhook start`: it generates its certificate and injects the CA into both configs."""
    args = [WEBHOOK, "start", *_logging_flags(settings)]
    if settings.job_namespaces:
        args.append(f"--namespaces={','.join(settings.job_namespaces)}")
    args += [
        f"--webhook-secret-name={names.webhook_secret}",
        f"--webhook-secret-namespace={names.namespace}",
        f"--webhook-svc-name={names.webhook_service}",
        f"--webhook-svc-namespace={names.namespace}",
        f"--webhook-port={WEBHOOK_PORT}",
        f"--webhook-cert-dir={CERT_DIR}",
        f"--mutating-webhook-name={names.webhook_configuration}",
        f"--validating-webhook-name={names.webhook_configuration}",
    ]
    if settings.resource_quota_enforcement:
        args.append("--enable-resource-quota-enforcement=true")
    args += _metrics_flags(WEBHOOK_METRICS_PORT)
    args.append(f"--health-probe-bind-address=:{WEBHOOK_HEALTH_PORT}")
    args += _leader_flags(names.webhook_lock, names.namespace)
    return args


def _command(args: list[str]) -> str:
    return shlex.join([BINARY, *args])


def pebble_layer(
    settings: Settings, names: Names, proxy: ProxySettings | None = None
) -> dict[str, Any]:
    """Both processes, and a readiness check on each one's health endpoint.

    With a model proxy the controller's spark-submit JVM gets it as system properties
    (SPARK_SUBMIT_OPTS, which bin/spark-class passes to SparkSubmit's JVM): it resolves an
    application's `spark.jars.packages` before creating the driver (SparkSubmit.scala,
    prepareSubmitEnvironment, the isKubernetesCluster branch). HTTP_PROXY is not set: the Go
    controller would send its Kubernetes API calls through it.
    """
    commands = {
        CONTROLLER: _command(controller_args(settings, names)),
        WEBHOOK: _command(webhook_args(settings, names)),
    }
    services = {
        name: {
            "override": "replace",
            "summary": f"Spark operator {name}",
            "command": command,
            "startup": "enabled",
            "user-id": SPARK_UID,
            "group-id": SPARK_UID,
            "environment": {
                "SPARK_HOME": SPARK_HOME,
                "SPARK_CONF_DIR": SPARK_CONF_DIR,
                "HOME": "/tmp",  # noqa: S108
            },
        }
        for name, command in commands.items()
    }
    java = (proxy or ProxySettings()).java_options(settings.cluster_networks)
    if java:
        services[CONTROLLER]["environment"]["SPARK_SUBMIT_OPTS"] = shlex.join(java)
    health = {CONTROLLER: CONTROLLER_HEALTH_PORT, WEBHOOK: WEBHOOK_HEALTH_PORT}
    checks = {
        CHECKS[name]: {
            "override": "replace",
            "level": "ready",
            "period": "10s",
            "threshold": 3,
            "http": {"url": f"http://localhost:{port}/readyz"},
        }
        for name, port in health.items()
    }
    return {"summary": "Kubeflow Spark Operator", "services": services, "checks": checks}


def spark_defaults(
    proxy: ProxySettings | None = None, cluster_networks: tuple[str, ...] = ()
) -> str:
    """spark-defaults.conf of the operator's spark-submit: drivers and executors without Istio.

    Every SparkApplication goes through this file, so none depends on its author remembering
    the opt-out; an application that sets these properties itself (sparkConf, or
    driver/executor labels and annotations, which the operator passes as --conf) still wins,
    since spark-submit takes a default only for a property nobody set.

    With a model proxy, drivers and executors also get it: as HTTP(S)_PROXY/NO_PROXY in both
    spellings (Python code, pip) and as JVM properties through `defaultJavaOptions`, the
    administrator's options Spark puts before an application's own extraJavaOptions. The
    driver's spark-submit resolves `spark.jars.packages` again in its pod (SparkSubmit.scala,
    the isKubernetesClusterModeDriver branch).
    """
    key, value = NO_SIDECAR
    lines = [
        f"spark.kubernetes.{role}.{kind}.{key} {value}"
        for role in ("driver", "executor")
        for kind in ("label", "annotation")
    ]
    proxy = proxy or ProxySettings()
    for name, env_value in proxy.pod_env(cluster_networks).items():
        lines += [f"spark.kubernetes.driverEnv.{name} {env_value}"]
        lines += [f"spark.executorEnv.{name} {env_value}"]
    java = proxy.java_options(cluster_networks)
    if java:
        lines += [f"spark.{role}.defaultJavaOptions {shlex.join(java)}" for role in ROLES]
    return "\n".join(lines) + "\n"


def scrape_jobs() -> list[dict[str, Any]]:
    """Prometheus jobs: the controller (application metrics) and the webhook."""
    return [
        {
            "job_name": CONTROLLER,
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [f"*:{CONTROLLER_METRICS_PORT}"]}],
        },
        {
            "job_name": WEBHOOK,
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [f"*:{WEBHOOK_METRICS_PORT}"]}],
        },
    ]


# -- cluster objects -----------------------------------------------------------------------


def manifest_context(names: Names, settings: Settings) -> dict[str, Any]:
    """Variables of the templates in src/templates."""
    return {
        "app": names.app,
        "namespace": names.namespace,
        "names": names,
        "job_namespaces": list(settings.job_namespaces),
        "batch_scheduler": settings.batch_scheduler,
        "profile_label": {"key": PROFILE_LABEL[0], "value": PROFILE_LABEL[1]},
        "webhook_port": WEBHOOK_PORT,
        "resources": [{"version": v, "singular": s, "plural": p} for v, s, p in WEBHOOK_RESOURCES],
    }


# -- what every profile namespace receives -------------------------------------------------

_COMPONENT = "app.kubernetes.io/component"


def driver_service_account(names: Names) -> dict[str, Any]:
    """The account SparkApplications name as `driver.serviceAccount`."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": names.driver_account, "labels": {_COMPONENT: "spark-driver"}},
    }


def driver_role(names: Names) -> dict[str, Any]:
    """What a Spark driver does in its namespace: executor pods, their config and services."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": names.driver_account, "labels": {_COMPONENT: "spark-driver"}},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["pods", "configmaps", "persistentvolumeclaims", "services"],
                "verbs": [
                    "get",
                    "list",
                    "watch",
                    "create",
                    "update",
                    "patch",
                    "delete",
                    "deletecollection",
                ],
            }
        ],
    }


def driver_role_binding(names: Names) -> dict[str, Any]:
    """Binds the driver Role to the driver account of the same namespace.

    The subject has no namespace on purpose: the same manifest is copied into every profile,
    and a RoleBinding's ServiceAccount subject without one means its own namespace.
    """
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": names.driver_account, "labels": {_COMPONENT: "spark-driver"}},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": names.driver_account,
        },
        "subjects": [{"kind": "ServiceAccount", "name": names.driver_account}],
    }


# Keys of the S3 Secret that become environment variables; the CA ones exist only with a CA.
S3_ENV_KEYS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "S3_BUCKET",
    "SPARK_EVENT_LOG_DIR",
)
S3_CA_ENV_KEYS = ("AWS_CA_BUNDLE", "JAVA_TOOL_OPTIONS")


def pod_default(
    names: Names, settings: Settings, *, with_s3: bool, proxy: ProxySettings | None = None
) -> dict[str, Any]:
    """The `access-spark` PodDefault notebooks and pipeline steps select.

    It tells the pod which image and driver account to put in a SparkApplication, and with S3
    mounts the S3A Secret (core-site.xml found through HADOOP_CONF_DIR, so a local PySpark
    session reads s3a:// too) and exposes its keys as the usual AWS variables for boto3. With
    a model proxy it gives the pod the proxy too, and SPARK_SUBMIT_OPTS so that a local PySpark
    session (whose JVM bin/spark-submit starts) resolves packages through it.
    """
    env: list[dict[str, Any]] = [
        {"name": "SPARK_IMAGE", "value": settings.spark_image},
        {"name": "SPARK_SERVICE_ACCOUNT", "value": names.driver_account},
    ]
    proxy = proxy or ProxySettings()
    env += [{"name": k, "value": v} for k, v in proxy.pod_env(settings.cluster_networks).items()]
    java = proxy.java_options(settings.cluster_networks)
    if java:
        env.append({"name": "SPARK_SUBMIT_OPTS", "value": shlex.join(java)})
    spec: dict[str, Any] = {
        "desc": "Run Spark jobs (SparkApplications)"
        + (" with S3 (Ceph) access" if with_s3 else ""),
        "selector": {"matchLabels": {PODDEFAULT_NAME: "true"}},
        "env": env,
    }
    if with_s3:
        env += [
            {"name": "SPARK_S3_SECRET", "value": names.s3_secret},
            {"name": "HADOOP_CONF_DIR", "value": S3_MOUNT},
        ]
        env += [_secret_env(names.s3_secret, key) for key in S3_ENV_KEYS]
        env += [_secret_env(names.s3_secret, key, optional=True) for key in S3_CA_ENV_KEYS]
        spec["volumes"] = [{"name": S3_VOLUME, "secret": {"secretName": names.s3_secret}}]
        spec["volumeMounts"] = [{"name": S3_VOLUME, "mountPath": S3_MOUNT, "readOnly": True}]
    return {
        "apiVersion": "kubeflow.org/v1alpha1",
        "kind": "PodDefault",
        "metadata": {"name": PODDEFAULT_NAME, "labels": {_COMPONENT: "spark-access"}},
        "spec": spec,
    }


def _secret_env(secret: str, key: str, *, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": key, "valueFrom": {"secretKeyRef": ref}}


def event_log_dir(s3: S3Connection) -> str:
    """Where Spark writes event logs: `spark-events` under the relation's bucket and path."""
    prefix = f"{s3.path}/" if s3.path else ""
    return f"s3a://{s3.bucket}/{prefix}spark-events"


def core_site(s3: S3Connection) -> str:
    """Hadoop's core-site.xml for S3A against Ceph RGW (path-style, explicit endpoint)."""
    properties = {
        "fs.s3a.endpoint": s3.endpoint,
        "fs.s3a.endpoint.region": s3.region or DEFAULT_REGION,
        "fs.s3a.path.style.access": "true" if s3.path_style else "false",
        "fs.s3a.connection.ssl.enabled": "true" if s3.secure else "false",
        "fs.s3a.aws.credentials.provider": SIMPLE_CREDENTIALS,
        "fs.s3a.access.key": s3.access_key,
        "fs.s3a.secret.key": s3.secret_key,
    }
    lines = ['<?xml version="1.0"?>', "<configuration>"]
    for name, value in properties.items():
        lines.append(f"  <property><name>{name}</name><value>{escape(value)}</value></property>")
    lines.append("</configuration>")
    return "\n".join(lines) + "\n"


def s3_secret(names: Names, s3: S3Connection) -> dict[str, Any]:
    """The Secret job namespaces receive: S3A settings as files and as environment.

    Mounted at /etc/spark-s3 it gives Spark core-site.xml (and, with a private CA, a JKS
    trust store the JVM uses through JAVA_TOOL_OPTIONS). All values go into `data`, so the
    object reads back exactly as sent and resource-dispatcher sees no difference to apply.
    """
    values: dict[str, str | bytes] = {
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_ENDPOINT_URL": s3.endpoint,
        "AWS_DEFAULT_REGION": s3.region or DEFAULT_REGION,
        "S3_BUCKET": s3.bucket,
        "SPARK_EVENT_LOG_DIR": event_log_dir(s3),
        "core-site.xml": core_site(s3),
    }
    if s3.tls_ca:
        store = f"{S3_MOUNT}/{TRUSTSTORE_FILE}"
        values["ca.crt"] = s3.tls_ca
        values[TRUSTSTORE_FILE] = truststore.jks(s3.tls_ca)
        values["AWS_CA_BUNDLE"] = f"{S3_MOUNT}/ca.crt"
        values["JAVA_TOOL_OPTIONS"] = (
            f"-Djavax.net.ssl.trustStore={store} -Djavax.net.ssl.trustStoreType=JKS "
            f"-Djavax.net.ssl.trustStorePassword={truststore.DEFAULT_PASSWORD}"
        )
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": names.s3_secret, "labels": {_COMPONENT: "spark-s3"}},
        "type": "Opaque",
        "data": {key: _b64(value) for key, value in sorted(values.items())},
    }


def _b64(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode()
