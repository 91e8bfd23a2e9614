/**
 * CNI config reconciler: the config list kubelet (or the lab) hands to the reference plugins:
 * bridge on kube-bridge as the pods' default gateway (ports in hairpin mode), host-local IPAM
 * over this node's pod CIDRs, then portmap. Written only when its content changes, atomically (temp + rename).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BRIDGE } from './bridge';

export interface CniSettings {
  podCidrs: readonly string[];
  mtu?: number;
}

export function renderCniConfig(s: CniSettings): string {
  const bridge: Record<string, unknown> = {
    name: 'kubernetes',
    type: 'bridge',
    bridge: BRIDGE,
    isDefaultGateway: true,
    // As in kube-router's own conflists: a pod reaching itself through its service comes back
    // bridged (br_netfilter bridges a DNATed frame whose route leads out the bridge it came in
    // on), out the port it came from, which a bridge port drops unless in hairpin mode.
    hairpinMode: true,
    ipam: { type: 'host-local', ranges: s.podCidrs.map((subnet) => [{ subnet }]) },
  };
  if (s.mtu !== undefined) bridge.mtu = s.mtu;
  const conf = {
    cniVersion: '0.3.1',
    name: 'kube-router-ts',
    plugins: [bridge, { type: 'portmap', capabilities: { snat: true, portMappings: true } }],
  };
  return `${JSON.stringify(conf, null, 2)}\n`;
}

/** Writes the config if it differs; returns whether it did. */
export function reconcileCniConfig(file: string, s: CniSettings): boolean {
  const text = renderCniConfig(s);
  let current: string | undefined;
  try {
    current = fs.readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) return false;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return true;
}
