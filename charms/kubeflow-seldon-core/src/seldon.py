"""Seldon Core 1.17 operator: its settings, command line, environment and Kubernetes context.

Nothing here imports ops: the charm gathers config and relation data, this module decides what
the operator process and its Kubernetes objects look like, and the unit tests check it directly.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dsplib import validation as check
from dsplib.s3_credentials import S3Connection

CONTAINER = "seldon-core"
SERVICE = "seldon-core"
WEBHOOK_SERVICE = "seldon-webhook-service"
CERT_DIR = "/tmp/k8s-webhook-server/serving-certs"  # noqa: S108 - fixed by controller-runtime
LEADER_ELECTION_ID = "a33bd623.machinelearning.seldon.io"
EXECUTOR_PORT = 8000
EXECUTOR_METRICS_PATH = "/prometheus"
LOG_LEVELS = ("debug", "info", "warn", "error")
# What /manager's setupLogger matches (operator/main.go, 1.17.1): upper-case words only, any
# other word silently means INFO, and "WARN" is an empty Go case (no fallthrough), so it also
# means INFO: only "WARNING" sets the warn level.
MANAGER_LOG_LEVELS = {"debug": "DEBUG", "info": "INFO", "warn": "WARNING", "error": "ERROR"}
# The operator sets runAsUser from these whenever they are non-empty, "0" (root) included
# (operator/controllers/security.go createSecurityContext, seldondeployment_engine.go
# getSvcOrchUser); unset or empty leaves the user to the image.
USER_ID_VARIABLES = ("DEFAULT_USER_ID", "EXECUTOR_CONTAINER_USER")
MLSERVER_RUNTIMES = {
    "SKLEARN_SERVER": "sklearn",
    "XGBOOST_SERVER": "xgboost",
    "MLFLOW_SERVER": "mlflow",
    "HUGGINGFACE_SERVER": "huggingface",
    "TEMPO_SERVER": "slim",
}


@dataclass(frozen=True)
class Images:
    """Images the operator starts for SeldonDeployments."""

    executor: str
    storage_initializer: str
    sklearn_server: str
    xgboost_server: str
    mlflow_server: str
    tfproxy: str
    tensorflow_serving: str
    mlserver: str
    triton_server: str
    alibi_explainer: str


@dataclass(frozen=True)
class Settings:
    """Validated charm config."""

    log_level: str
    webhook_port: int
    metrics_port: int
    istio_gateway: str
    images: Images
    executor_resources: dict[str, str]
    request_logger_endpoint: str
    default_user_id: int
    scrape_models: bool
    model_secret_name: str
    cluster_networks: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Check every option; raises InvalidConfig naming the first bad one."""
        gateway = str(config.get("istio-gateway", "")).strip()
        if gateway and not _is_gateway_reference(gateway):
            raise check.InvalidConfig("istio-gateway", "namespace/name of an Istio Gateway, or ''")
        logger_endpoint = str(config.get("executor-request-logger-endpoint", "")).strip()
        if logger_endpoint and not logger_endpoint.startswith(("http://", "https://")):
            raise check.InvalidConfig("executor-request-logger-endpoint", "an http(s):// URL")
        user_id = config.get("default-user-id")
        if isinstance(user_id, bool) or not isinstance(user_id, int) or not 0 <= user_id < 2**31:
            raise check.InvalidConfig("default-user-id", "a numeric user id (0 for the image's)")
        return cls(
            log_level=check.choice("log-level", config["log-level"], LOG_LEVELS),
            webhook_port=check.port("webhook-port", config["webhook-port"]),
            metrics_port=check.port("metrics-port", config["metrics-port"]),
            istio_gateway=gateway,
            images=Images(
                executor=check.oci_reference("executor-image", config["executor-image"]),
                storage_initializer=check.oci_reference(
                    "storage-initializer-image", config["storage-initializer-image"]
                ),
                sklearn_server=_tagged("sklearn-server-image", config),
                xgboost_server=_tagged("xgboost-server-image", config),
                mlflow_server=_tagged("mlflow-server-image", config),
                tfproxy=_tagged("tfproxy-image", config),
                tensorflow_serving=_tagged("tensorflow-serving-image", config),
                mlserver=_tagged("mlserver-image", config),
                triton_server=_tagged("triton-server-image", config),
                alibi_explainer=check.oci_reference(
                    "alibi-explainer-image", config["alibi-explainer-image"]
                ),
            ),
            executor_resources={
                "cpu-request": check.quantity(
                    "executor-cpu-request", config["executor-cpu-request"]
                ),
                "cpu-limit": check.quantity("executor-cpu-limit", config["executor-cpu-limit"]),
                "memory-request": check.quantity(
                    "executor-memory-request", config["executor-memory-request"]
                ),
                "memory-limit": check.quantity(
                    "executor-memory-limit", config["executor-memory-limit"]
                ),
            },
            request_logger_endpoint=logger_endpoint,
            default_user_id=user_id,
            scrape_models=bool(config.get("scrape-models", True)),
            model_secret_name=check.dns_label("model-secret-name", config["model-secret-name"]),
            cluster_networks=check.networks("cluster-cidrs", config.get("cluster-cidrs", "")),
        )


def _tagged(option: str, config: Mapping[str, Any]) -> str:
    """An image `repository:tag`: seldon-config stores image and version apart (no digests)."""
    reference = check.oci_reference(option, config[option])
    if "@" in reference or ":" not in reference.rsplit("/", 1)[-1]:
        raise check.InvalidConfig(option, "an image reference with a tag and no digest")
    return reference


def _is_gateway_reference(value: str) -> bool:
    namespace, sep, name = value.partition("/")
    return bool(sep) and all(check.DNS_LABEL.match(part) for part in (namespace, name))


@dataclass(frozen=True)
class Gateway:
    """The Istio gateway SeldonDeployments are exposed through."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def gateway_from_relation(data: Mapping[str, str]) -> Gateway | None:
    """The gateway istio-pilot announces on `gateway-info`; None until it has sent one.

    Raises ValueError when what it sent is not a gateway reference.
    """
    name = data.get("gateway_name", "").strip()
    namespace = data.get("gateway_namespace", "").strip()
    if not name and not namespace:
        return None
    if not (check.DNS_LABEL.match(name) and check.DNS_LABEL.match(namespace)):
        raise ValueError("gateway-info: istio-pilot sent an invalid gateway name or namespace")
    return Gateway(namespace, name)


def effective_gateway(settings: Settings, related: Gateway | None) -> Gateway | None:
    """Config wins over the relation; no gateway at all means Istio integration is off."""
    if settings.istio_gateway:
        namespace, _, name = settings.istio_gateway.partition("/")
        return Gateway(namespace, name)
    return related


def manager_command(settings: Settings) -> str:
    """/manager with literal flags (Pebble does not expand the chart's $(VAR) references).

    The operator must not create its own CRD, webhook and certificates: the charm owns them,
    and the operator's initializer expects a Deployment that does not exist under Juju.
    """
    return " ".join(
        [
            "/manager",
            "--enable-leader-election",
            f"--leader-election-id={LEADER_ELECTION_ID}",
            f"--metrics-addr=:{settings.metrics_port}",
            f"--webhook-port={settings.webhook_port}",
            f"--log-level={MANAGER_LOG_LEVELS[settings.log_level]}",
            "--create-resources=false",
        ]
    )


def manager_environment(
    settings: Settings, namespace: str, gateway: Gateway | None
) -> dict[str, str]:
    """Environment of the operator process (names as the 1.17 operator reads them).

    `default-user-id` 0 means "the image's user": the user variables are then left out, since
    the operator would otherwise run model pods and the executor as root.
    """
    res = settings.executor_resources
    env = {
        "POD_NAMESPACE": namespace,
        "WATCH_NAMESPACE": "",
        "CONTROLLER_ID": "",
        "ISTIO_ENABLED": "true" if gateway else "false",
        "ISTIO_GATEWAY": str(gateway) if gateway else "",
        "ISTIO_TLS_MODE": "",
        "KEDA_ENABLED": "false",
        "AMBASSADOR_ENABLED": "false",
        "USE_EXECUTOR": "true",
        "EXECUTOR_CONTAINER_IMAGE_AND_VERSION": settings.images.executor,
        "EXECUTOR_CONTAINER_IMAGE_PULL_POLICY": "IfNotPresent",
        "EXECUTOR_CONTAINER_SERVICE_ACCOUNT_NAME": "default",
        "EXECUTOR_SERVER_PORT": str(EXECUTOR_PORT),
        "EXECUTOR_PROMETHEUS_PATH": EXECUTOR_METRICS_PATH,
        "EXECUTOR_SERVER_METRICS_PORT_NAME": "metrics",
        "EXECUTOR_REQUEST_LOGGER_DEFAULT_ENDPOINT": settings.request_logger_endpoint,
        "EXECUTOR_DEFAULT_CPU_REQUEST": res["cpu-request"],
        "EXECUTOR_DEFAULT_CPU_LIMIT": res["cpu-limit"],
        "EXECUTOR_DEFAULT_MEMORY_REQUEST": res["memory-request"],
        "EXECUTOR_DEFAULT_MEMORY_LIMIT": res["memory-limit"],
        "PREDICTIVE_UNIT_HTTP_SERVICE_PORT": "9000",
        "PREDICTIVE_UNIT_GRPC_SERVICE_PORT": "9500",
        "PREDICTIVE_UNIT_METRICS_PORT_NAME": "metrics",
        "DEPLOYMENT_NAME_AS_PREFIX": "false",
    }
    if settings.default_user_id:
        env.update(dict.fromkeys(USER_ID_VARIABLES, str(settings.default_user_id)))
    return env


def pebble_layer(settings: Settings, namespace: str, gateway: Gateway | None) -> dict[str, Any]:
    """The operator service and the check that tells when it serves."""
    return {
        "summary": "Seldon Core operator",
        "services": {
            SERVICE: {
                "override": "replace",
                "summary": "seldon-core operator manager",
                "command": manager_command(settings),
                "startup": "enabled",
                "environment": manager_environment(settings, namespace, gateway),
            }
        },
        "checks": {
            "manager-metrics": {
                "override": "replace",
                "level": "ready",
                "period": "10s",
                "threshold": 3,
                "http": {"url": f"http://localhost:{settings.metrics_port}/metrics"},
            },
            "webhook-listening": {
                "override": "replace",
                "level": "ready",
                "period": "10s",
                "threshold": 3,
                "tcp": {"port": settings.webhook_port},
            },
        },
    }


def _image(reference: str) -> tuple[str, str]:
    """Split `repo:tag` (checked by `_tagged`) into seldon-config's (image, version) pair."""
    repository, _, tag = reference.rpartition(":")
    return repository, tag


def _protocol(reference: str) -> dict[str, str]:
    image, version = _image(reference)
    return {"image": image, "defaultImageVersion": version}


def predictor_servers(images: Images) -> dict[str, Any]:
    """The `predictor_servers` entry of seldon-config: image per server and protocol."""
    servers: dict[str, Any] = {
        "SKLEARN_SERVER": {"protocols": {"seldon": _protocol(images.sklearn_server)}},
        "XGBOOST_SERVER": {"protocols": {"seldon": _protocol(images.xgboost_server)}},
        "MLFLOW_SERVER": {"protocols": {"seldon": _protocol(images.mlflow_server)}},
        "TENSORFLOW_SERVER": {
            "protocols": {
                "tensorflow": _protocol(images.tensorflow_serving),
                "seldon": _protocol(images.tfproxy),
            }
        },
        "TRITON_SERVER": {"protocols": {"v2": _protocol(images.triton_server)}},
        "HUGGINGFACE_SERVER": {"protocols": {}},
        "TEMPO_SERVER": {"protocols": {}},
    }
    for server, runtime in MLSERVER_RUNTIMES.items():
        servers[server]["protocols"]["v2"] = _protocol(f"{images.mlserver}-{runtime}")
    return servers


def seldon_config_data(images: Images) -> dict[str, str]:
    """Data of the `seldon-config` ConfigMap the operator reads from its namespace."""
    return {
        "predictor_servers": json.dumps(predictor_servers(images), sort_keys=True),
        "storageInitializer": json.dumps(
            {
                "image": images.storage_initializer,
                "memoryRequest": "100Mi",
                "memoryLimit": "1Gi",
                "cpuRequest": "100m",
                "cpuLimit": "1",
            },
            sort_keys=True,
        ),
        "explainer": json.dumps(
            {"image": images.alibi_explainer, "image_v2": f"{images.mlserver}-alibi-explain"},
            sort_keys=True,
        ),
        "credentials": json.dumps(
            {
                "gcs": {"gcsCredentialFileName": GCS_CREDENTIAL_FILE},
                "s3": {
                    "s3AccessKeyIDName": "awsAccessKeyID",
                    "s3SecretAccessKeyName": "awsSecretAccessKey",
                },
            },
            sort_keys=True,
        ),
    }


# How a private CA reaches the storage initializer. Seldon Core 1.17's injector
# (operator/controllers/model_initializer_injector.go, InjectModelInitializer) gives the init
# container only `envFrom` the envSecretRefName Secret, the shared model volume, and what
# CredentialBuilder.CreateSecretVolumeAndEnv (operator/controllers/resources/credentials/
# service_account_credentials.go) takes from the Secrets listed in the pod's ServiceAccount:
# a Secret holding the key named by seldon-config's credentials.gcs.gcsCredentialFileName is
# mounted whole, every key a file, at /var/secrets/ (credentials/gcs/gcs_secret.go,
# GCSCredentialVolumeMountPath). rclone takes a CA only as a file (`--ca-cert`, from the
# environment RCLONE_CA_CERT), so the CA travels as `ca.crt` in such a Secret, listed by a
# ServiceAccount models run as, and RCLONE_CA_CERT names the file.
GCS_CREDENTIAL_FILE = "gcloud-application-credentials.json"  # seldon-config credentials.gcs
SA_SECRET_MOUNT = "/var/secrets/"  # noqa: S105 - gcs_secret.go GCSCredentialVolumeMountPath
CA_KEY = "ca.crt"


def ca_secret_name(model_secret: str) -> str:
    """The Secret with the gateway's CA, next to the rclone Secret."""
    return f"{model_secret}-ca"


def models_service_account_name(model_secret: str) -> str:
    """The ServiceAccount models set as serviceAccountName to trust the gateway's CA."""
    return f"{model_secret}-models"


def ca_secret(model_secret: str, ca_pem: str) -> dict[str, Any]:
    """The gateway's CA, shaped so that the injector mounts it into the storage initializer.

    The GCS credential key is what makes the injector mount the Secret; it holds an empty
    JSON object, which nothing reads: GOOGLE_APPLICATION_CREDENTIALS, which the injector sets
    to it, is read only by rclone's Google Cloud Storage backend, and the image's `gs` remote
    is anonymous.
    """
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": ca_secret_name(model_secret),
            "labels": {"app.kubernetes.io/component": "seldon-model-credentials"},
        },
        "type": "Opaque",
        "stringData": {CA_KEY: ca_pem, GCS_CREDENTIAL_FILE: "{}"},
    }


def models_service_account(model_secret: str) -> dict[str, Any]:
    """The ServiceAccount whose Secrets list carries the CA Secret to the initializer."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": models_service_account_name(model_secret),
            "labels": {"app.kubernetes.io/component": "seldon-model-credentials"},
        },
        "secrets": [{"name": ca_secret_name(model_secret)}],
    }


def rclone_secret(
    name: str,
    s3: S3Connection,
    proxy_env: Mapping[str, str] | None = None,
    *,
    ca_file: str = "",
) -> dict[str, Any]:
    """The Secret a SeldonDeployment names in `envSecretRefName` to load `s3://` models.

    The storage initializer is rclone: `RCLONE_CONFIG_S3_*` define a remote called `s3`, so a
    modelUri `s3://<bucket>/<path>` reads from the related Ceph RADOS Gateway. `proxy_env`
    (dsplib.proxy `pod_env`, empty without a model proxy) lets it fetch models from outside:
    rclone takes its proxy from HTTP_PROXY/HTTPS_PROXY/NO_PROXY through Go's
    http.ProxyFromEnvironment (rclone fs/fshttp/http.go, `NewTransportCustom`), and only the
    init container reads this Secret, so the model servers are not proxied. `ca_file` is where
    the gateway's CA is mounted (see `ca_secret`), when it is.
    """
    env = {
        "RCLONE_CONFIG_S3_TYPE": "s3",
        "RCLONE_CONFIG_S3_PROVIDER": "Ceph",
        "RCLONE_CONFIG_S3_ENV_AUTH": "false",
        "RCLONE_CONFIG_S3_ACCESS_KEY_ID": s3.access_key,
        "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY": s3.secret_key,
        "RCLONE_CONFIG_S3_ENDPOINT": s3.endpoint,
        "RCLONE_CONFIG_S3_FORCE_PATH_STYLE": "true" if s3.path_style else "false",
    }
    if s3.region:
        env["RCLONE_CONFIG_S3_REGION"] = s3.region
    if ca_file:
        env["RCLONE_CA_CERT"] = ca_file
    env.update(proxy_env or {})
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/component": "seldon-model-credentials"},
        },
        "type": "Opaque",
        "stringData": env,
    }


def manifest_context(
    *, app: str, namespace: str, settings: Settings, ca_cert: str
) -> dict[str, Any]:
    """Variables of the templates in src/templates."""
    return {
        "app": app,
        "namespace": namespace,
        "webhook_service": WEBHOOK_SERVICE,
        "webhook_port": settings.webhook_port,
        "ca_bundle": base64.b64encode(ca_cert.encode()).decode(),
        "leader_election_id": LEADER_ELECTION_ID,
        "seldon_config": seldon_config_data(settings.images),
    }


def model_scrape_targets(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Static scrape configs for the executors of served models (one per predictor Service).

    `services` are Service dicts labelled by the operator with `seldon-deployment-id`; the
    executor listens on port 8000 and exposes metrics under /prometheus.
    """
    configs = []
    for svc in sorted(services, key=lambda s: (s["namespace"], s["name"])):
        if EXECUTOR_PORT not in svc.get("ports", []):
            continue
        configs.append(
            {
                "targets": [f"{svc['name']}.{svc['namespace']}.svc:{EXECUTOR_PORT}"],
                "labels": {
                    "seldon_deployment": svc.get("deployment", ""),
                    "seldon_namespace": svc["namespace"],
                },
            }
        )
    return configs
