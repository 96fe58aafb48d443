#!/bin/sh
# Entry point of the image: the step to run is the container's first argument, as in the marketplace image.
set -eu
step="${1:-resource-configure}"
case "$step" in
  resource-configure) exec node /pipeline/resource-configure.ts ;;
  *) echo "unknown step \"$step\"; this image runs: resource-configure" >&2; exit 2 ;;
esac
