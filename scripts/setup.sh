#!/usr/bin/env bash
# Installs what kube-router-ts needs on Debian bookworm, idempotently: apt packages (only the
# missing ones, without starting their services), npm dependencies (npm ci when the lock file
# changed), and the build (native addon + TypeScript). Sourced by lab.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(
  iproute2 iputils-ping tcpdump tshark ipset iptables nftables ipvsadm conntrack openssl procps util-linux curl prometheus
  bird2 frr gobgpd exabgp
  containernetworking-plugins
  qemu-system-x86 linux-image-amd64 busybox-static kmod cpio xz-utils iperf3
  python3 make g++
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  # Daemons must not start in the root namespace: tests and the lab run them in their own.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# Debian's kubectl 1.20 (package kubernetes-client) beside this machine's newer one: the lab's
# API server is tested with both client generations. Installing the package would clash with
# the kubectl package's /usr/bin/kubectl, so only its binary is unpacked, to a path of ours.
KUBECTL_1_20=/usr/local/lib/kube-router-ts/kubectl-1.20
if [ ! -x "$KUBECTL_1_20" ]; then
  echo "setup: unpacking kubectl 1.20 (kubernetes-client) to $KUBECTL_1_20"
  tmp=$(mktemp -d)
  (cd "$tmp" && { apt-get download kubernetes-client 2>/dev/null || { apt-get update -qq && apt-get download kubernetes-client; }; } >/dev/null &&
    dpkg-deb -x kubernetes-client_*.deb unpacked && install -D -m 0755 unpacked/usr/bin/kubectl "$KUBECTL_1_20")
  rm -rf "$tmp"
fi

# npm ci only when package-lock.json changed since the last install.
stamp=node_modules/.package-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

echo "setup: build"
npm run --silent build
