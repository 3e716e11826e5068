#!/usr/bin/env bash
# Every documented command of the dress example, run with the network cut off: a new network
# namespace (`unshare --net`) holding only loopback. After one online install (./dev test, or
# any of the commands once), none of them may need to download anything: the tox
# environments are empty and the example's virtual environments are only checked against
# their stamp (tools/example_env.py). Needs root or unprivileged user namespaces. CI runs it
# after `./dev test` (.ci/run); run it yourself from anywhere in the repository.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
if [ -z "${DRESS_OFFLINE_INSIDE:-}" ]; then
    exec unshare --net env DRESS_OFFLINE_INSIDE=1 "$0" "$@"
fi
ip link set lo up
cd "$root"
python3 - <<'PY'
import socket
try:
    socket.create_connection(("pypi.org", 443), timeout=5)
except OSError as error:
    print(f"offline check: no network, as wanted ({error.__class__.__name__})")
else:
    raise SystemExit("offline check: the network is reachable; the check would prove nothing")
PY
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python="$root/.tox/examples-dress-venvs/main/bin/python"

# the README's commands, on a tiny run so the check stays quick
./dev tox -e examples-dress-run -- --output "$work/outputs" --n-train 64 --n-test 32 \
    --length-epochs 1 --color-epochs 1
./dev tox -e examples-dress-sample -- maxi red "$work/dress.png"
port=18089
setsid ./dev tox -e examples-dress-serve -- --outputs "$work/outputs" --port "$port" \
    >"$work/serve.log" 2>&1 &
serve=$!
stop() { kill -- "-$serve" 2>/dev/null || true; wait "$serve" 2>/dev/null || true; }
trap 'stop; rm -rf "$work"' EXIT
"$python" - "$port" "$work/dress.png" <<'PY'
import re
import sys
import time

import requests

port, picture = sys.argv[1], sys.argv[2]
url = f"http://127.0.0.1:{port}/"
deadline = time.monotonic() + 300
while True:
    try:
        requests.get(url, timeout=5).raise_for_status()
        break
    except requests.RequestException:
        if time.monotonic() > deadline:
            raise SystemExit("offline check: the page did not come up")
        time.sleep(1)
with open(picture, "rb") as image:
    page = requests.post(url, files={"photo": ("dress.png", image)}, timeout=60).text
labels = re.findall(r'id="(?:length|color)-label">([^<]*)<', page)
if len(labels) != 2:
    raise SystemExit(f"offline check: no classification on the page:\n{page[-2000:]}")
print(f"offline check: the served page classified the picture ({', '.join(labels)})")
PY
stop
# the test command (type checks plus its quickest tests, those of the data generator)
./dev tox -e examples-dress -- -k test_data
echo "offline check: every documented dress-classification command worked without network"
