#!/bin/sh
# The namespace Promise's configure step: a Namespace named after spec.namespaceName.
set -eu
name=$(sed -n 's/^  namespaceName: *//p' /kratix/input/object.yaml | tr -d "\"'" | head -n 1)
[ -n "$name" ] || { echo "spec.namespaceName is empty" >&2; exit 1; }
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n' "$name" > /kratix/output/namespace.yaml
printf 'message: namespace %s requested\n' "$name" > /kratix/metadata/status.yaml
echo "namespace $name written"
