#!/usr/bin/env bash
# Deploy the platform on this machine: `./dev deploy [extra overlay ...]`.
#
# Prerequisites: Ubuntu 22.04 or newer with snapd, sudo rights, 8+ CPU threads, 32+ GiB RAM
# and 100+ GiB free disk for the whole platform (the local overlay alone needs far less),
# internet access to the Snap Store, Charmhub and container registries, and this checkout
# under your home directory, outside hidden directories: Juju from snap is strictly confined
# and reads only such files (snapd's `home` interface).
#
# What it does:
#   1. uses the current Juju controller if `juju` can reach one, else provisions a local one
#      on Kubernetes with concierge (`concierge prepare -p k8s --juju-channel 3.6/stable`:
#      Juju 3.6, Canonical Kubernetes, LXD for charmcraft, charmcraft); refuses a Juju client
#      other than 3.6, the version these tools and docs are written for;
#   2. packs every charm in charms/ into build/ (`./dev tox -e pack`);
#   3. creates the model "kubeflow" (DSP_MODEL to change) with automatically-retry-hooks=true
#      (concierge's presets turn it off), deploys bundle.yaml with overlays/local.yaml (plus
#      any overlays given) by absolute path, with --trust, gives Dex a static admin user when
#      no directory is related, and waits until all is active (`./dev wait`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
MODEL=${DSP_MODEL:-kubeflow}
TIMEOUT=${DSP_DEPLOY_TIMEOUT:-3600}
# The Juju these tools and docs support (tools/juju_helper.py JUJU_CHANNEL says the same).
# concierge installs it with `--juju-channel` (concierge cmd/prepare.go; the config-file form is
# `juju: channel:`, internal/config/config_format.go); without it, the snap's default channel.
JUJU_CHANNEL=3.6/stable
JUJU_SERIES=3.6

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
        die "found $cpus CPUs and ${mem_gb} GiB RAM; the local overlay needs at least 4 CPUs and 14 GiB"
    fi
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Juju from snap reads files only under $HOME, outside top-level hidden directories and
# ~/snap (snapd interfaces/builtin/home.go: `owner @{HOME}/[^s.]**`); /tmp is its own.
snap_can_read() {
    local path rel
    path=$(realpath -m "$1")
    rel=${path#"$HOME"/}
    [ "$rel" != "$path" ] && [[ $rel != .* ]] && [[ $rel != snap/* || $rel == snap/juju/* ]]
}

check_readable_by_juju() {
    [[ $(command -v juju) == */snap/* ]] || return 0
    local path
    for path in "$@"; do
        snap_can_read "$path" || die "Juju from snap cannot read $path: it reads only files under $HOME outside hidden directories; clone this repository there"
    done
}

ensure_controller() {
    if command -v juju >/dev/null && juju show-controller >/dev/null 2>&1; then
        echo "using Juju controller $(juju switch | cut -d: -f1)"
        return
    fi
    echo "no reachable Juju controller: provisioning one with concierge (this takes a while)"
    command -v concierge >/dev/null || as_root snap install concierge --classic
    as_root concierge prepare -p k8s --juju-channel "$JUJU_CHANNEL"
    juju show-controller >/dev/null 2>&1 || die "concierge finished but no Juju controller answers"
}

check_juju_version() {
    local version
    version=$(juju version)
    case "$version" in
        "$JUJU_SERIES".*) ;;
        *) die "found Juju $version; this platform is deployed with Juju $JUJU_SERIES: sudo snap refresh juju --channel $JUJU_CHANNEL" ;;
    esac
}

pack_charms() {
    command -v charmcraft >/dev/null || as_root snap install charmcraft --classic
    "$ROOT/dev" tox -e pack
}

# concierge's presets set automatically-retry-hooks=false as a model default (concierge
# internal/config/presets.go); a real deployment retries failed hooks, and so do we.
ensure_model() {
    if juju models --format=json | python3 "$ROOT/tools/juju_helper.py" has-model "$MODEL"; then
        juju model-config -m "$MODEL" automatically-retry-hooks=true
    else
        juju add-model "$MODEL" --config automatically-retry-hooks=true
    fi
}

deploy_bundle() {
    local overlays=(--overlay "$ROOT/overlays/local.yaml") files=("$ROOT/bundle.yaml" "$ROOT/overlays/local.yaml")
    local overlay
    for overlay in "$@"; do
        overlay=$(realpath -e "$overlay") || die "no overlay file $overlay"
        overlays+=(--overlay "$overlay")
        files+=("$overlay")
    done
    check_readable_by_juju "${files[@]}" "$ROOT/build"
    juju deploy -m "$MODEL" "$ROOT/bundle.yaml" --trust "${overlays[@]}"
}

# Without a directory (overlays/ldap.yaml) nobody could log in: give Dex one static user with
# a random password, kept in a file only the current user can read.
ensure_login() {
    if [ -n "$(juju config -m "$MODEL" dex-auth static-username)" ] ||
        juju status -m "$MODEL" dex-auth --format=json | python3 "$ROOT/tools/juju_helper.py" related dex-auth ldap; then
        return
    fi
    local dir="$HOME/.local/share/data-science-platform" password
    mkdir -p "$dir"
    password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
    (umask 077 && printf '%s\n' "$password" > "$dir/dex-admin-password")
    juju config -m "$MODEL" dex-auth static-username=admin@example.com static-password="$password"
    echo "log in as admin@example.com with the password in $dir/dex-admin-password"
}

wait_until_active() {
    echo "waiting up to ${TIMEOUT}s for every application to be active"
    "$ROOT/dev" wait --model "$MODEL" --timeout "$TIMEOUT"
}

main() {
    check_prerequisites
    ensure_controller
    check_juju_version
    check_readable_by_juju "$ROOT/bundle.yaml"
    pack_charms
    ensure_model
    deploy_bundle "$@"
    ensure_login
    wait_until_active
    juju switch "$MODEL" >/dev/null
    juju status -m "$MODEL"
}

# Sourcing the script (its tests do) defines the functions without running them.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
