"""tools/charm_rename.py: a packed charm copied under another name, as `juju refresh` needs it."""

from __future__ import annotations

import stat
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import charm_rename

METADATA = b"""name: dex
type: charm
containers:
  dex:
    resource: oci-image
    name: not-the-charm-name
requires:
  ldap: {interface: ldap}
"""


def packed(path: Path, metadata: bytes = METADATA) -> Path:
    """A charm as charmcraft packs one: metadata.yaml, an executable dispatch, a venv file."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as charm:
        charm.writestr("metadata.yaml", metadata)
        dispatch = zipfile.ZipInfo("dispatch")
        dispatch.external_attr = (stat.S_IFREG | 0o755) << 16
        charm.writestr(dispatch, b"#!/bin/sh\nexec ./src/charm.py\n", zipfile.ZIP_DEFLATED)
        charm.writestr("venv/dex.py", b"ISSUER_PATH = '/dex'\n", zipfile.ZIP_STORED)
    return path


def juju_would_refresh(application_charm: str, charm: Path) -> bool:
    """Juju's rule for a local charm (refresher.go, localCharmRefresher): the same name."""
    return charm_rename.charm_name(charm) == application_charm


def test_the_packed_dex_charm_cannot_refresh_dex_auth_but_its_renamed_copy_can(tmp_path):
    dex = packed(tmp_path / "dex.charm")
    assert not juju_would_refresh("dex-auth", dex)

    charm_rename.rename(dex, "dex-auth", tmp_path / "dex-auth.charm")

    assert juju_would_refresh("dex-auth", tmp_path / "dex-auth.charm")


def test_only_the_top_level_name_changes(tmp_path):
    dex = packed(tmp_path / "dex.charm")
    copy = tmp_path / "dex-auth.charm"
    charm_rename.rename(dex, "dex-auth", copy)

    with zipfile.ZipFile(dex) as before, zipfile.ZipFile(copy) as after:
        assert after.namelist() == before.namelist()
        assert after.read("metadata.yaml") == METADATA.replace(
            b"name: dex\n", b"name: dex-auth\n", 1
        )
        for name in ("dispatch", "venv/dex.py"):
            assert after.read(name) == before.read(name)
            old, new = before.getinfo(name), after.getinfo(name)
            assert (new.external_attr, new.compress_type) == (old.external_attr, old.compress_type)
        assert stat.S_IMODE(after.getinfo("dispatch").external_attr >> 16) == 0o755


@pytest.mark.parametrize("line", [b"name: 'dex'", b'name: "dex"', b"name:   dex  "])
def test_quoted_or_spaced_names_are_found(tmp_path, line):
    charm = packed(tmp_path / "dex.charm", METADATA.replace(b"name: dex", line, 1))
    assert charm_rename.charm_name(charm) == "dex"


@pytest.mark.parametrize(
    ("metadata", "name", "error"),
    [
        (METADATA, "Dex_Auth", "'Dex_Auth' is not a charm name"),
        (b"type: charm\n", "dex-auth", "metadata.yaml has 0 top-level name lines, not one"),
        (METADATA + b"name: other\n", "dex-auth", "has 2 top-level name lines"),
    ],
)
def test_what_cannot_be_renamed_is_refused(tmp_path, metadata, name, error):
    with pytest.raises(charm_rename.RenameError, match=error):
        charm_rename.rename(packed(tmp_path / "a.charm", metadata), name, tmp_path / "b.charm")
    assert not (tmp_path / "b.charm").exists()


def test_a_file_that_is_not_a_charm_is_refused(tmp_path):
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("README", b"x")
    assert charm_rename.main([str(plain), "dex-auth", str(tmp_path / "out.charm")]) == 1
    assert charm_rename.main([str(plain)]) == 2
