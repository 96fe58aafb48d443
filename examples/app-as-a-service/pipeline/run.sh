#!/bin/sh
# Entry point of the image: the step to run is the container's first argument, as in the marketplace image.
set -eu
step="${1:-resource-configure}"
case "$step" in
  resource-configure) exec node /pipeline/resource-configure.ts ;;
  database-configure) exec node /pipeline/database-configure.ts ;;
  *) echo "unknown step \"$step\"; this image runs: resource-configure, database-configure" >&2; exit 2 ;;
esac
