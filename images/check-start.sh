#!/usr/bin/env bash
# Start a notebook image the way Kubeflow's notebook controller does, and check it serves:
# user 1000 with group 100 (the profile's fsGroup), an empty home volume, NB_PREFIX set.
# Passes when JupyterLab answers under the prefix on port 8888 and the home was populated.
# Usage: ENGINE=docker images/check-start.sh IMAGE
set -euo pipefail
engine=${ENGINE:-docker}
image=$1
prefix=/notebook/smoke-test/intel-notebook

container=$("$engine" run -d --user 1000:100 --group-add 100 \
    --env NB_PREFIX="$prefix" \
    --mount type=tmpfs,destination=/home/jovyan,tmpfs-mode=1777 \
    --publish 127.0.0.1::8888 "$image")
trap '"$engine" logs "$container" > /tmp/check-start.log 2>&1 || true; "$engine" rm -f "$container" >/dev/null' EXIT
port=$("$engine" port "$container" 8888/tcp | head -n1 | sed 's/.*://')

for _ in $(seq 90); do
    if curl -fsS "http://127.0.0.1:${port}${prefix}/api/status" >/dev/null 2>&1; then
        echo "$image: JupyterLab answers on 8888 under $prefix"
        "$engine" exec "$container" sh -c 'test "$(id -u)" = 1000 && ls -A "$HOME" | grep -q .' \
            || { echo "$image: not running as 1000, or home left empty" >&2; exit 1; }
        exit 0
    fi
    if [ "$("$engine" inspect -f '{{.State.Running}}' "$container")" != true ]; then
        echo "$image: container stopped; log in /tmp/check-start.log" >&2
        exit 1
    fi
    sleep 2
done
echo "$image: no answer under $prefix within 3 minutes; log in /tmp/check-start.log" >&2
exit 1
