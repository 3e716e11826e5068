"""Run the Seldon Core microservice with every listening socket on loopback only.

seldon-core 1.17.1 binds its REST, gRPC and metrics servers to 0.0.0.0 with no option to
change it (``seldon_core/microservice.py``: ``app.run(host="0.0.0.0")``, gunicorn's
``bind``, ``add_insecure_port("0.0.0.0:...")``). On a laptop that exposes the model to the
whole network, so the local launcher (`serve_local`) starts it through this module, which
maps the wildcard addresses to 127.0.0.1 before handing over to Seldon's own ``main``.
On the platform the SeldonDeployment runs Seldon's entry point unchanged.

    python -m dress_classification.loopback dress_classification.serving.DressClassifier ...
"""

from __future__ import annotations

import importlib
import socket
import sys

LOOPBACK = "127.0.0.1"
WILDCARDS = ("", "0.0.0.0", "::")  # noqa: S104 - the addresses this module replaces


def loopback_address(address, family: int = socket.AF_INET):
    """*address* with a wildcard host replaced by loopback; anything else unchanged."""
    if isinstance(address, tuple) and address and address[0] in WILDCARDS:
        return ("::1" if family == socket.AF_INET6 else LOOPBACK, *address[1:])
    if isinstance(address, str) and address.rpartition(":")[0] in (*WILDCARDS, "[::]"):
        return f"{LOOPBACK}:{address.rpartition(':')[2]}"
    return address


def patch() -> None:
    """Make socket.bind and gRPC's add_insecure_port use loopback for wildcard hosts."""
    bind = socket.socket.bind

    def loopback_bind(self, address):
        family_ok = self.family in (socket.AF_INET, socket.AF_INET6)
        return bind(self, loopback_address(address, self.family) if family_ok else address)

    socket.socket.bind = loopback_bind  # type: ignore[method-assign]
    try:
        _server = importlib.import_module("grpc._server")
    except ImportError:
        return
    add_port = _server._Server.add_insecure_port

    def loopback_port(self, address):
        return add_port(self, loopback_address(address))

    _server._Server.add_insecure_port = loopback_port  # type: ignore[method-assign]


def main() -> None:
    """Patch, then run seldon-core-microservice with this process's arguments."""
    patch()
    from seldon_core.microservice import main as seldon_main  # pyright: ignore[reportMissingImports]

    sys.argv[0] = "seldon-core-microservice"
    seldon_main()


if __name__ == "__main__":
    main()
