# kube-router-ts image: build on Node 20 with the toolchain for the TCP MD5 addon, run on a slim
# Debian with the tools the data path drives (iproute2, ipset, iptables, ipvsadm, conntrack, kmod),
# the CNI reference plugins (/usr/lib/cni, copied to the node by the DaemonSet's init container) and,
# as in kube-router's image, the gobgp CLI (package gobgpd) that reads the agent's GoBGP API:
# `kubectl -n kube-system exec ds/kube-router -- gobgp neighbor`.
#   docker build -t ghcr.io/kube-router-ts/kube-router-ts:0.1.0 .

FROM node:20-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.agent.json ./
COPY native ./native
COPY net ./net
COPY bgp ./bgp
COPY controllers ./controllers
COPY src ./src
COPY scripts/bundle.mjs scripts/client-node-gen.mjs scripts/node-fetch-headers.mjs ./scripts/
COPY scripts/lazy ./scripts/lazy
# The agent only: the lab, the tests and the benchmarks stay out of the image.
RUN npm run build:agent && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 ipset iptables nftables ipvsadm conntrack kmod containernetworking-plugins gobgpd ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/kube-router-ts
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/native/tcp-md5/build/Release/tcp_md5.node ./native/tcp-md5/build/Release/tcp_md5.node
COPY --from=build /src/native/netlink-opts/build/Release/netlink_opts.node ./native/netlink-opts/build/Release/netlink_opts.node
COPY --from=build /src/native/malloc-trim/build/Release/malloc_trim.node ./native/malloc-trim/build/Release/malloc_trim.node
COPY --from=build /src/native/low-memory/build/Release/low_memory.node ./native/low-memory/build/Release/low_memory.node
# One malloc arena, a smaller young generation, no baseline compiler and one copy of V8's
# builtins: see src/agent/process-env.ts (test/daemonset keeps the two the same).
ENV MALLOC_ARENA_MAX=1
ENV NODE_OPTIONS=--max-semi-space-size=4
# The single-file bundle: it leaves out the parts of client-node the agent never runs (scripts/bundle.mjs).
ENTRYPOINT ["node", "--no-sparkplug", "--no-short-builtin-calls", "/opt/kube-router-ts/dist/kube-router-ts.js"]
