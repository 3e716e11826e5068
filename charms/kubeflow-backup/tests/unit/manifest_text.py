"""Stored manifests as one dict a test can edit, and back; and manifests made or read whole.

A format 3 manifest (JSON Lines: header, one entry a line, signature line) becomes its header's
fields plus "objects" (the entries) and "hmac-sha256"; made back into lines the same way the
charm writes them, so an unedited round trip keeps its signature. A dict whose "format" is 1
or 2 becomes one JSON document, as those formats were written.
"""

import json
import tempfile

import backup


def as_dict(data: bytes) -> dict:
    """The manifest's content, whatever its format."""
    try:
        return json.loads(data)  # format 1 or 2: one document
    except ValueError:
        lines = [json.loads(line) for line in data.splitlines()]
    return {**lines[0], "objects": lines[1:-1], **lines[-1]}


def as_bytes(content: dict) -> bytes:
    """The stored manifest for a dict from as_dict (edited or not)."""
    if content.get("format") != backup.FORMAT:
        return json.dumps(content, indent=1).encode()
    header = dict(content)
    objects = header.pop("objects", [])
    signature = {k: header.pop(k) for k in [backup.SIGNATURE] if k in header}
    lines = [header, *objects, *([signature] if signature else [])]
    return b"".join(json.dumps(line, sort_keys=True).encode() + b"\n" for line in lines)


def written(
    manifest: backup.Manifest, entries: list[backup.Entry], signer: backup.Signer
) -> bytes:
    """The manifest as create-backup stores it (format 3), its entries counted into it."""
    manifest.objects = manifest.size = 0
    for entry in entries:
        manifest.count(entry)
    lines = (backup.entry_line(e) for e in entries)
    return b"".join(backup.manifest_lines(manifest, lines, signer))


def read(
    data: bytes, backup_id: str, signer: backup.Signer | None
) -> tuple[backup.Manifest, list[backup.Entry]]:
    """A stored manifest parsed as verify and restore read it: header and entries."""
    with tempfile.TemporaryFile() as file:
        file.write(data)
        found = backup.ManifestFile.read(file, backup_id, signer)
        return found.manifest, list(found.entries())
