import pytest

from dsplib import validation as v


@pytest.mark.parametrize(
    "ref",
    [
        "docker.io/seldonio/seldon-core-operator:1.17.1",
        "seldonio/mlserver:1.3.5-sklearn",
        "localhost:5000/img",
        "ghcr.io/kubeflow/spark-operator/controller:2.5.2",
        "nvcr.io/nvidia/tritonserver:21.08-py3",
        "registry.example.com/a/b@sha256:" + "a" * 64,
        "ubuntu",
    ],
)
def test_valid_image_references(ref: str):
    assert v.oci_reference("image", ref) == ref


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "UPPER/case",
        "img:tag with space",
        "img::tag",
        "-lead/img",
        "a" * 300,
        "img@sha256:short",
    ],
)
def test_invalid_image_references_name_the_option(ref: str):
    with pytest.raises(v.InvalidConfig) as info:
        v.oci_reference("executor-image", ref)
    assert info.value.option == "executor-image"
    assert "OCI image reference" in str(info.value)


@pytest.mark.parametrize("value", [0, 80, 70000, True, "8080"])
def test_bad_ports(value):
    with pytest.raises(v.InvalidConfig, match="webhook-port"):
        v.port("webhook-port", value)


def test_good_port_and_numbers():
    assert v.port("p", 4443) == 4443
    assert v.positive_int("n", 3, maximum=5) == 3
    with pytest.raises(v.InvalidConfig, match="between 1 and 5"):
        v.positive_int("n", 6, maximum=5)
    with pytest.raises(v.InvalidConfig):
        v.positive_int("n", 0)


def test_choice_lists_the_allowed_values():
    assert v.choice("log-level", "info", ["debug", "info"]) == "info"
    with pytest.raises(v.InvalidConfig, match="one of debug, info"):
        v.choice("log-level", "loud", ["debug", "info"])


@pytest.mark.parametrize("good", ["500m", "1", "0.5", "512Mi", "2Gi", "1.5G"])
def test_quantities(good: str):
    assert v.quantity("cpu", good) == good


@pytest.mark.parametrize("bad", ["", "lots", "-1", "1.5.2", "10 Mi"])
def test_bad_quantities(bad: str):
    with pytest.raises(v.InvalidConfig, match="quantity"):
        v.quantity("cpu", bad)


def test_names_and_lists():
    assert v.dns_label("ns", "team-a") == "team-a"
    with pytest.raises(v.InvalidConfig):
        v.dns_label("ns", "Team_A")
    assert v.comma_list(" a, b,,a ,c ") == ["a", "b", "c"]
    assert v.comma_list("") == []


def test_networks_in_normal_form_without_repeats():
    value = " 10.1.0.0/16, fd00:0::/64 ,10.1.0.0/16,10.152.183.0/24"
    assert v.networks("cluster-cidrs", value) == ("10.1.0.0/16", "fd00::/64", "10.152.183.0/24")
    assert v.networks("cluster-cidrs", "") == ()


@pytest.mark.parametrize(
    "bad", ["10.1.2.3/16", "10.1.0.0/33", "svc", "10.1.0.0/16,cluster.local", 5]
)
def test_bad_networks_name_the_option_and_the_item(bad):
    with pytest.raises(
        v.InvalidConfig, match="config cluster-cidrs: expected comma-separated CIDRs"
    ):
        v.networks("cluster-cidrs", bad)


@pytest.mark.parametrize("text", ["2024-13-45", "!!float x", "!!int 0b2", "[" * 3000, "{a: [}"])
def test_yaml_pyyaml_cannot_read_is_one_error(text: str):
    """PyYAML raises ValueError or RecursionError, not only YAMLError, on such text."""
    with pytest.raises(v.UnreadableYaml):
        v.load_yaml(text)


def test_readable_yaml_is_parsed():
    assert v.load_yaml("- a\n- 1\n") == ["a", 1]
    assert v.load_yaml("") is None
