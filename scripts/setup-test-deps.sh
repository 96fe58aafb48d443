#!/usr/bin/env bash
# Installs what the tests need from Debian's packages when it is missing: what FleetOps needs at run time
# (setup-runtime-deps.sh), docker-registry (the CNCF distribution server the image tests run), postgresql (the
# PostgreSQL store tests make throw-away clusters with its initdb and pg_ctl), prometheus (the metrics test scrapes
# FleetOps with the real Prometheus and lints with its promtool) and chromium (the portal tests drive it with
# playwright-core), openssh-server (a GitStateStore test pushes over ssh to a throw-away sshd). Safe to run
# repeatedly; does nothing when everything is present.
set -euo pipefail
bash "$(dirname "$0")/setup-runtime-deps.sh" docker-registry:docker-registry chromium:chromium pg_ctlcluster:postgresql promtool:prometheus sshd:openssh-server
if ! command -v kubectl >/dev/null 2>&1 && [ -z "${KUBECTL:-}" ]; then
  echo "note: kubectl is not installed; the kubectl end-to-end tests will fail (set KUBECTL=/path/to/kubectl 1.32)" >&2
fi
