"""The test double itself: FakeKubernetes lists through its index, whatever tests do to it."""

from lightkube.resources.core_v1 import ConfigMap, Namespace

from dsplib.testing import FakeKubernetes, ObjectTable


def config_map(name: str, namespace: str, **labels: str) -> dict:
    meta = {"name": name, "namespace": namespace, "labels": labels}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def names(fake: FakeKubernetes, namespace: str | None = None, **labels: str) -> list[str]:
    listed = fake.list(ConfigMap, namespace=namespace, labels=labels or None)
    return [f"{o.metadata.namespace}/{o.metadata.name}" for o in listed]


def test_list_sees_every_way_tests_change_the_objects():
    fake = FakeKubernetes()
    fake.add(config_map("a", "x"), config_map("b", "y", team="ml"))
    fake.objects[("v1", "ConfigMap", "x", "c")] = config_map("c", "x")
    fake.objects.setdefault(("v1", "ConfigMap", "y", "d"), config_map("d", "y"))
    fake.objects.update({("v1", "ConfigMap", "z", "e"): config_map("e", "z")})
    assert names(fake) == ["x/a", "x/c", "y/b", "y/d", "z/e"]
    assert names(fake, "x") == ["x/a", "x/c"]
    assert names(fake, "*", team="ml") == ["y/b"]
    del fake.objects[("v1", "ConfigMap", "x", "a")]
    fake.objects.pop(("v1", "ConfigMap", "y", "d"))
    assert fake.objects.pop(("v1", "ConfigMap", "y", "gone"), None) is None
    assert names(fake) == ["x/c", "y/b", "z/e"]
    fake.objects.popitem()
    assert names(fake) == ["x/c", "y/b"]
    fake.objects.clear()
    assert names(fake) == []
    assert fake.objects == {}


def test_objects_given_or_assigned_as_a_plain_dict_are_indexed():
    key = ("v1", "ConfigMap", "x", "a")
    fake = FakeKubernetes(objects={key: config_map("a", "x")})
    assert isinstance(fake.objects, ObjectTable)
    assert names(fake) == ["x/a"]
    fake.objects = {("v1", "ConfigMap", "y", "b"): config_map("b", "y")}
    assert names(fake) == ["y/b"]


def test_list_reads_only_the_kind_and_namespace_asked_for(monkeypatch):
    fake = FakeKubernetes()
    for n in range(200):
        fake.add(config_map(f"c{n}", f"ns{n % 10}"))
        fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"n{n}"}})
    read = []
    real = ObjectTable.__getitem__

    def counted(self, key):
        read.append(key)
        return real(self, key)

    monkeypatch.setattr(ObjectTable, "__getitem__", counted)
    assert len(names(fake, "ns3")) == 20
    assert len(read) == 20
    read.clear()
    assert len(list(fake.list(Namespace))) == 200
    assert {k[1] for k in read} == {"Namespace"}
