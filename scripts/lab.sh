#!/usr/bin/env bash
# The lab, from a fresh Debian machine as root: installs what it needs, then brings up the
# speaker demo (two kube-router-ts speakers and a BIRD top-of-rack router in namespaces).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
node dist/src/cli/main.js lab speaker-demo --down >/dev/null
exec node dist/src/cli/main.js lab speaker-demo "$@"
