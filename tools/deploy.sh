#!/usr/bin/env bash
# Deploy the platform on this machine: `./dev deploy [extra overlay ...]`.
#
# Prerequisites: Ubuntu 22.04 or newer with snapd, sudo rights, 8+ CPU threads, 32+ GiB RAM
# and 100+ GiB free disk for the whole platform (the local overlay alone needs far less),
# and internet access to the Snap Store, Charmhub and container registries.
#
# What it does:
#   1. uses the current Juju controller if `juju` can reach one, else provisions a local one
#      on Kubernetes with concierge (`concierge prepare -p k8s`: Juju, Canonical Kubernetes,
#      LXD for charmcraft, charmcraft);
#   2. packs every charm in charms/ into build/ (`./dev tox -e pack`);
#   3. deploys bundle.yaml with overlays/local.yaml (plus any overlays given) into the
#      model "kubeflow" (DSP_MODEL to change), with --trust, and waits until all is active.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODEL=${DSP_MODEL:-kubeflow}
TIMEOUT=${DSP_DEPLOY_TIMEOUT:-3600}

die() { echo "deploy: $*" >&2; exit 1; }

check_prerequisites() {
    [ "$(uname -s)" = Linux ] || die "needs Linux (Ubuntu with snapd)"
    if [ -r /etc/os-release ]; then
        # shellcheck disable=SC1091
        . /etc/os-release
        [ "${ID:-}" = ubuntu ] || die "needs Ubuntu (found ${PRETTY_NAME:-unknown}); see docs/how-to/deploy.md"
    fi
    command -v snap >/dev/null || die "snapd is missing: sudo apt install snapd"
    command -v sudo >/dev/null || [ "$(id -u)" = 0 ] || die "needs sudo to install snaps"
    local cpus mem_gb
    cpus=$(nproc)
    mem_gb=$(awk '/MemTotal/ {print int($2 / 1048576)}' /proc/meminfo)
    if [ "$cpus" -lt 4 ] || [ "$mem_gb" -lt 14 ]; then
        die "found $cpus CPUs and ${mem_gb} GiB RAM; the local overlay needs at least 4 and 16"
    fi
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_controller() {
    if command -v juju >/dev/null && juju show-controller >/dev/null 2>&1; then
        echo "using Juju controller $(juju switch | cut -d: -f1)"
        return
    fi
    echo "no reachable Juju controller: provisioning one with concierge (this takes a while)"
    command -v concierge >/dev/null || as_root snap install concierge --classic
    as_root concierge prepare -p k8s
    juju show-controller >/dev/null 2>&1 || die "concierge finished but no Juju controller answers"
}

ensure_model() {
    if juju models --format=json | grep -q "\"short-name\":\"$MODEL\""; then
        juju switch "$MODEL" >/dev/null
    else
        juju add-model "$MODEL"
    fi
}

# Without a directory (overlays/ldap.yaml) nobody could log in: give Dex one static user with
# a random password, kept in a file only the current user can read.
ensure_login() {
    if [ -n "$(juju config dex-auth static-username)" ] || juju status dex-auth --format=json | grep -q '"ldap"'; then
        return
    fi
    local dir="$HOME/.local/share/data-science-platform" password
    mkdir -p "$dir"
    password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
    (umask 077 && printf '%s\n' "$password" > "$dir/dex-admin-password")
    juju config dex-auth static-username=admin@example.com static-password="$password"
    echo "log in as admin@example.com with the password in $dir/dex-admin-password"
}

main() {
    check_prerequisites
    ensure_controller
    command -v charmcraft >/dev/null || as_root snap install charmcraft --classic
    "$ROOT/dev" tox -e pack
    ensure_model
    local overlays=(--overlay "$ROOT/overlays/local.yaml")
    for overlay in "$@"; do overlays+=(--overlay "$overlay"); done
    (cd "$ROOT" && juju deploy ./bundle.yaml --trust "${overlays[@]}")
    ensure_login
    echo "waiting up to ${TIMEOUT}s for every application to be active"
    juju wait-for model "$MODEL" --timeout "${TIMEOUT}s" \
        --query='forEach(applications, app => app.status == "active")'
    juju status
}

main "$@"
