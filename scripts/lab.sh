#!/usr/bin/env bash
# The lab, from a fresh Debian machine as root: installs what it needs, then builds a local
# cluster in network namespaces (embedded API server, 3 nodes running the agent, 2 pods per node
# wired by the CNI reference plugins, a BIRD top-of-rack router) and prints `lab status`.
# Running it again replaces the lab. Extra arguments go to `lab up` (e.g. --nodes 5).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
node dist/src/cli/main.js lab speaker-demo --down >/dev/null
node dist/src/cli/main.js lab down >/dev/null
node dist/src/cli/main.js lab up --nodes 3 --tor "$@"
echo
echo '$ kube-router-ts lab status'
exec node dist/src/cli/main.js lab status
