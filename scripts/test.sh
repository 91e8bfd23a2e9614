#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine as root: installs what it needs, type-checks,
# and runs every test (codec, FSM, RIB, fuzzing, interop with real BGP daemons in namespaces).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

# Namespaces left by an interrupted earlier run would only waste memory; tests use krtt-*.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^krtt-' || true); do
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
done

echo "test: tsc --noEmit"
npx tsc -p tsconfig.json --noEmit
echo "test: lint (eslint, prettier --check)"
npm run --silent lint
echo "test: jest"
npx jest --ci "$@"
