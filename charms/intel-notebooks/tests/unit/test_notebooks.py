"""The workload module: settings, PodDefault, pre-pull progress, node reports."""

import pytest

import notebooks
from conftest import CONFIG_DEFAULTS
from dsplib.validation import InvalidConfig


def settings(**overrides) -> notebooks.Settings:
    return notebooks.Settings.from_config({**CONFIG_DEFAULTS, **overrides})


def test_defaults_offer_three_images():
    s = settings()
    assert len(s.images) == 3
    assert all("intel" in image for image in s.images)
    assert s.omp_num_threads is None
    assert s.node_selector == {}


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("images", "not: a list"),
        ("images", "[]"),
        ("images", "- Not A Valid Image"),
        ("images", "- a/b:1\n- a/b:1"),
        ("images", "{unclosed"),
        ("node-selector", "no-equals-sign"),
        ("node-selector", "bad key!=x"),
        ("omp-num-threads", "many"),
        ("omp-num-threads", "0"),
        ("kmp-blocktime", 500),
        ("kmp-affinity", "x; rm -rf /"),
        ("omp-wait-policy", "sleepy"),
        ("onednn-max-cpu-isa", "AVX9000"),
        ("prepull-pause-image", "??"),
    ],
)
def test_every_bad_value_names_its_option(option, value):
    with pytest.raises(InvalidConfig) as info:
        settings(**{option: value})
    assert info.value.option == option


def test_json_lists_and_lowercase_isa_are_accepted():
    s = settings(images='["a.io/x/y:1", "b.io/z:2"]', **{"onednn-max-cpu-isa": "avx512_core_amx"})
    assert s.images == ("a.io/x/y:1", "b.io/z:2")
    assert s.onednn_max_cpu_isa == "AVX512_CORE_AMX"


def test_node_selector_parses_prefixed_keys_and_empty_values():
    s = settings(**{"node-selector": "node-role.kubernetes.io/worker=, zone=a"})
    assert s.node_selector == {"node-role.kubernetes.io/worker": "", "zone": "a"}


def _env(poddefault) -> dict:
    return {e["name"]: e for e in poddefault["spec"]["env"]}


def test_poddefault_takes_threads_from_the_cpu_limit_by_default():
    env = _env(notebooks.poddefault(settings()))
    assert env["OMP_NUM_THREADS"]["valueFrom"]["resourceFieldRef"]["resource"] == "limits.cpu"
    assert (
        env["TF_NUM_INTRAOP_THREADS"]["valueFrom"]["resourceFieldRef"]["resource"] == "limits.cpu"
    )
    assert env["OMP_WAIT_POLICY"]["value"] == "PASSIVE"
    assert env["KMP_AFFINITY"]["value"] == "granularity=fine,compact,1,0"
    assert env["KMP_BLOCKTIME"]["value"] == "1"
    assert env["ONEDNN_MAX_CPU_ISA"]["value"] == "ALL"
    assert env["TF_ENABLE_ONEDNN_OPTS"]["value"] == "1"
    assert env[notebooks.SKLEARNEX_ENV]["value"] == "1"


def test_poddefault_follows_every_tunable():
    pd = notebooks.poddefault(
        settings(
            **{
                "omp-num-threads": "8",
                "kmp-affinity": "",
                "kmp-blocktime": 0,
                "omp-wait-policy": "",
                "tf-enable-onednn-opts": False,
                "sklearnex": False,
                "onednn-max-cpu-isa": "AVX2",
            }
        )
    )
    env = _env(pd)
    assert env["OMP_NUM_THREADS"] == {"name": "OMP_NUM_THREADS", "value": "8"}
    assert env["TF_NUM_INTRAOP_THREADS"]["value"] == "8"
    assert "OMP_WAIT_POLICY" not in env
    assert "KMP_AFFINITY" not in env
    assert env["KMP_BLOCKTIME"]["value"] == "0"
    assert env["TF_ENABLE_ONEDNN_OPTS"]["value"] == "0"
    assert env[notebooks.SKLEARNEX_ENV]["value"] == "0"
    assert env["ONEDNN_MAX_CPU_ISA"]["value"] == "AVX2"
    assert pd["spec"]["selector"] == {"matchLabels": {"intel-optimizations": "true"}}
    assert "namespace" not in pd["metadata"]


def _daemonset(images, ready=1, desired=2, updated=None, generation=3, observed=3):
    return {
        "metadata": {"generation": generation},
        "spec": {"template": {"spec": {"initContainers": [{"image": i} for i in images]}}},
        "status": {
            "observedGeneration": observed,
            "desiredNumberScheduled": desired,
            "numberReady": ready,
            "updatedNumberScheduled": desired if updated is None else updated,
        },
    }


def test_prepull_progress():
    images = ("a/x:1", "a/y:1")
    progress = notebooks.prepull_progress(_daemonset(images, ready=1, desired=3), images)
    assert str(progress) == "images cached on 1/3 nodes"
    assert progress is not None
    assert not progress.done
    done = notebooks.prepull_progress(_daemonset(images, ready=3, desired=3), images)
    assert done is not None
    assert done.done
    assert notebooks.prepull_progress(_daemonset(images, observed=2), images) is None
    assert notebooks.prepull_progress(_daemonset(("old:1",)), images) is None
    stale = notebooks.prepull_progress(_daemonset(images, ready=3, desired=3, updated=1), images)
    assert stale is not None
    assert str(stale) == "images cached on 1/3 nodes"
    assert notebooks.prepull_progress(None, images) is None
    assert notebooks.prepull_progress({"spec": {}, "status": {}}, images) is None


@pytest.mark.parametrize(
    ("reference", "normal"),
    [
        ("ubuntu:24.04", "docker.io/library/ubuntu:24.04"),
        ("seldonio/mlserver:1.3.5", "docker.io/seldonio/mlserver:1.3.5"),
        ("ghcr.io/org/img:1", "ghcr.io/org/img:1"),
        ("localhost/img:1", "localhost/img:1"),
        ("registry:5000/img:1", "registry:5000/img:1"),
    ],
)
def test_normalize_reference(reference, normal):
    assert notebooks.normalize_reference(reference) == normal


def test_node_report_lists_cached_images_and_cpu_features():
    images = ("ghcr.io/o/scipy:1", "o/tf:1")
    nodes = [
        {
            "metadata": {
                "name": "worker-2",
                "labels": {
                    "feature.node.kubernetes.io/cpu-cpuid.AVX512F": "true",
                    "feature.node.kubernetes.io/cpu-cpuid.AMXTILE": "true",
                    "feature.node.kubernetes.io/cpu-cpuid.AMXBF16": "true",
                },
            },
            "status": {
                "images": [
                    {"names": ["ghcr.io/o/scipy:1", "ghcr.io/o/scipy@sha256:ab"]},
                    {"names": ["docker.io/o/tf:1"]},
                ]
            },
        },
        {"metadata": {"name": "worker-1", "labels": {}}, "status": {"images": []}},
    ]
    report = notebooks.node_report(nodes, images)
    assert [r["node"] for r in report] == ["worker-1", "worker-2"]
    assert report[0]["cached"] == []
    assert report[0]["cpu-features"] is None
    assert report[1]["cached"] == ["ghcr.io/o/scipy:1", "o/tf:1"]
    assert report[1]["cpu-features"] == ["AVX-512", "AMX", "AMX BF16"]
    table = notebooks.report_table(report)
    assert "worker-1" in table
    assert "(no NFD labels)" in table
    assert "missing o/tf:1" in table
    assert "AVX-512, AMX, AMX BF16" in table
