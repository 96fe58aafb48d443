#!/usr/bin/env bash
# Installs what FleetOps and its tests need from Debian's packages when it is missing: git, openssl, bubblewrap (the
# pipeline sandbox), skopeo and umoci (pulling and unpacking step images), busybox-static (the base of images
# `fleetops image build` makes), docker-registry (the CNCF distribution server the image tests run). Safe to run
# repeatedly; does nothing when everything is present.
set -euo pipefail
need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v umoci >/dev/null 2>&1 || need+=(umoci)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
# busybox-static puts a static busybox at /bin/busybox (image bases need one that runs without the host's libraries).
ldd_out=$(LC_ALL=C ldd /bin/busybox 2>&1 || true)
if ! [ -x /bin/busybox ] || [[ "$ldd_out" != *"not a dynamic executable"* ]]; then
  need+=(busybox-static)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! command -v kubectl >/dev/null 2>&1 && [ -z "${KUBECTL:-}" ]; then
  echo "note: kubectl is not installed; the kubectl end-to-end tests will fail (set KUBECTL=/path/to/kubectl 1.32)" >&2
fi
