#!/usr/bin/env bash
# Installs what FleetOps needs at run time from Debian's packages when it is missing: git and openssl (state stores,
# the API's certificate), bubblewrap (the pipeline sandbox), skopeo and umoci (pulling and unpacking step images),
# busybox-static (the base of images `fleetops image build` makes). Extra package names may be passed (the test set-up
# adds its own). Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail
need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v umoci >/dev/null 2>&1 || need+=(umoci)
# busybox-static puts a static busybox at /bin/busybox (image bases need one that runs without the host's libraries).
ldd_out=$(LC_ALL=C ldd /bin/busybox 2>&1 || true)
if ! [ -x /bin/busybox ] || [[ "$ldd_out" != *"not a dynamic executable"* ]]; then
  need+=(busybox-static)
fi
for extra in "$@"; do
  IFS=: read -r cmd pkg <<<"$extra"
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
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
