#!/usr/bin/env bash
# Installs what the tests need from Debian's packages when it is missing: git, openssl, bubblewrap, PostgreSQL,
# Chromium. Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail
need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
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
