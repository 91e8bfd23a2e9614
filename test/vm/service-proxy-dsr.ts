/**
 * DSR in the service-proxy VM suite's lab (called from its describe, after the NAT tests): a
 * Service annotated kube-router.io/service.dsr=tunnel with an external IPv4 and IPv6 address
 * and endpoints on both nodes, reached from the ToR. Kernel state read back with ipvsadm, ip
 * and iptables-save; the direct return shown by IPVS's own counters on the director.
 */
import { dsrMarks } from '../../controllers/dsr';
import type { NetnsCalls } from '../../lab/netns-calls';

/** What the suite's describe hands over. */
export interface ServiceLabTools {
  /** The lab's namespace prefix. */
  prefix: string;
  sh(script: string): Promise<string>;
  labCall(name: 'labApplyService', s: Parameters<NetnsCalls['labApplyService']>[1]): Promise<unknown>;
  labCall(name: 'labDeleteService', service: string): Promise<unknown>;
  ipvs(node: string): Promise<string>;
  answers(ns: string, url: string, n?: number): Promise<string[]>;
  eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs?: number): Promise<T>;
}

export function dsrTests({ prefix: PREFIX, sh, labCall, ipvs, answers, eventually }: ServiceLabTools): void {
  it('DSR (kube-router.io/service.dsr=tunnel): the ToR reaches external IPs (IPv4, IPv6) through IPVS in a tunnel, and the pods answer it directly', async () => {
    const [EXT, EXT6] = ['198.51.100.50', '2001:db8:5100::50'];
    const pods = ['node1-pod1', 'node2-pod1'];
    // The port is the target port: the pod gets the packet as the client sent it.
    await labCall('labApplyService', {
      name: 'dsr',
      clusterIP: '10.96.0.103',
      clusterIP6: 'fd00:96::103',
      port: 8080,
      targetPort: 8080,
      externalIPs: [EXT, EXT6],
      annotations: { 'kube-router.io/service.dsr': 'tunnel' },
      pods,
    });
    try {
      const marks = dsrMarks([EXT, EXT6].map((ip) => ({ ip, protocol: 'tcp', port: 8080 })));
      const [mark, mark6] = [marks.get(`${EXT}-tcp-8080`)!, marks.get(`${EXT6}-tcp-8080`)!];
      const [hex, hex6] = [mark, mark6].map((m) => `0x${m.toString(16)}`);
      for (const node of ['node1', 'node2']) {
        // IPv6: its own mark, ip6ip6 real servers, the same routing in the IPv6 tables.
        const table6 = await eventually(
          () => ipvs(node),
          (t) => (t.match(new RegExp(`^-a -f ${mark6} .*-i -w 1( --tun-type ipip)?$`, 'gm')) ?? []).length === 2,
          // The first run with an IPv6 DSR address also loads ip6_tunnel: slow under emulation.
          120000,
        );
        expect(table6).toMatch(new RegExp(`^-A -f ${mark6} (-6 )?-s rr( -6)?$`, 'm'));
        for (const n of [1, 2])
          expect(table6).toMatch(
            new RegExp(`^-a -f ${mark6} .*-r \\[fd00:10:244:${n}::[0-9a-f]+\\]:8080 -i -w 1( --tun-type ipip)?$`, 'm'),
          );
        expect(await sh(`ip -n ${PREFIX}${node} -6 addr show kube-dummy-if`)).not.toContain(EXT6);
        expect(await sh(`ip -n ${PREFIX}${node} -6 rule show`)).toMatch(new RegExp(`fwmark ${hex6} lookup 78\\b`));
        expect(await sh(`ip -n ${PREFIX}${node} -6 route show table 78`)).toMatch(/^local (default|::\/0) dev lo/);
        const mangle6 = await sh(`ip netns exec ${PREFIX}${node} ip6tables-save -t mangle`);
        expect(mangle6).toContain(`-A KUBE-ROUTER-TS-SVC-DSR -d ${EXT6}/128 -p tcp -m tcp --dport 8080`);
        // Two IPv6 headers and TCP's: 1500 - 2 x 40 - 20.
        expect(mangle6).toMatch(new RegExp(`-A KUBE-ROUTER-TS-SVC-DSR -s ${EXT6}/128 -i kube-bridge .*-j TCPMSS --set-mss 1400`));
        // IPVS balances the mark; both endpoints reached through IPIP (-i), local and remote alike.
        const table = await eventually(
          () => ipvs(node),
          (t) => (t.match(new RegExp(`^-a -f ${mark} `, 'gm')) ?? []).length === 2,
        );
        expect(table).toContain(`-A -f ${mark} -s rr`);
        expect(table).toContain(`-a -f ${mark} -r 10.244.1.2:8080 -i -w 1`);
        expect(table).toContain(`-a -f ${mark} -r 10.244.2.2:8080 -i -w 1`);
        expect(table).not.toContain(`${EXT}:8080`);
        // The address is nowhere local on the director: marked packets reach IPVS through table 78.
        expect(await sh(`ip -n ${PREFIX}${node} -4 addr show kube-dummy-if`)).not.toContain(EXT);
        expect(await sh(`ip -n ${PREFIX}${node} -4 rule show`)).toMatch(new RegExp(`fwmark ${hex} lookup 78\\b`));
        expect(await sh(`ip -n ${PREFIX}${node} -4 route show table 78`)).toMatch(/^local default dev lo scope host\s*$/);
        const mangle = await sh(`ip netns exec ${PREFIX}${node} iptables-save -t mangle`);
        expect(mangle).toContain('-A PREROUTING -m comment --comment kube-router-ts -j KUBE-ROUTER-TS-SVC-DSR');
        expect(mangle).toContain(
          `-A KUBE-ROUTER-TS-SVC-DSR -d ${EXT}/32 -p tcp -m tcp --dport 8080 -m comment --comment "kube-router-ts DSR" -j MARK --set-xmark ${hex}/0xffffffff`,
        );
        // The pods' SYN-ACKs announce an MSS that fits the tunnel (uplink MTU 1500 - 2 x 20 - 20).
        expect(mangle).toMatch(
          new RegExp(
            `-A KUBE-ROUTER-TS-SVC-DSR -s ${EXT}/32 -i kube-bridge -p tcp -m tcp --sport 8080 --tcp-flags SYN,RST SYN .*-j TCPMSS --set-mss 1440`,
          ),
        );
      }
      // Inside each endpoint pod (found through the lab's CRI socket): the tunnel devices with the addresses.
      for (const pod of pods) {
        const dev6 = await eventually(
          () => sh(`ip -n ${PREFIX}${pod} -6 addr show kube-tunnel-v6 2>&1 || true`),
          (t) => t.includes(`inet6 ${EXT6}/128`),
        );
        expect(dev6).toContain(`inet6 ${EXT6}/128 scope global`);
        const dev = await eventually(
          () => sh(`ip -n ${PREFIX}${pod} -4 addr show kube-tunnel-if 2>&1 || true`),
          (t) => t.includes(`inet ${EXT}/32`),
        );
        expect(dev).toMatch(/kube-tunnel-if@NONE: <NOARP,UP,LOWER_UP>/);
        expect(dev).toContain(`inet ${EXT}/32 scope global kube-tunnel-if`);
        expect(await sh(`ip netns exec ${PREFIX}${pod} sysctl -n net.ipv4.conf.kube-tunnel-if.rp_filter net.ipv4.conf.all.rp_filter`)).toBe(
          '0\n0\n',
        );
      }
      // A client outside the cluster. This one-subnet lab's ToR installs no BGP routes (the pod
      // egress tests need that), so the address is routed to node1 here, as the ToR's BGP would:
      // node1 directs, node2-pod1's answers leave node2 straight for the ToR.
      await sh(`ip -n ${PREFIX}tor route replace ${EXT}/32 via 10.0.0.11; ip -n ${PREFIX}tor -6 route replace ${EXT6}/128 via fd00::11`);
      /** Counters of a mark's virtual service ("FWM n") and of each of its real servers: conns, in, out. */
      const fwm = async (node: string, m = mark): Promise<Record<string, number[]>> => {
        const text = await sh(`ip netns exec ${PREFIX}${node} ipvsadm -Ln --stats --exact`);
        const at = text.search(new RegExp(`^FWM\\s+${m}\\b`, 'm'));
        const out: Record<string, number[]> = {};
        // No such virtual service: nothing (not the first block listed).
        if (at < 0) return out;
        const block = text.slice(at).split('\n');
        for (const line of block) {
          const r = /^(FWM\s+\d+)(?:\s+IPv6)?\s+(\d+)\s+(\d+)\s+(\d+)|^\s+->\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line);
          if (r) out[r[1] ? r[1].replace(/\s+/, ' ') : r[5]!] = (r[1] ? r.slice(2, 5) : r.slice(6, 9)).map(Number);
          else if (Object.keys(out).length) break;
        }
        return out;
      };
      // ipvsadm shows the counters as IPVS's estimator last summed them from the per-CPU ones
      // (every 2 s, later under emulation): read until they have caught up with the requests.
      const caughtUp = (remote: (c: Record<string, number[]>) => string | undefined) => (c: Record<string, number[]>) =>
        Object.entries(c).every(([k, v]) => k.startsWith('FWM') || v[0]! > 0) && (c[remote(c) ?? '']?.[1] ?? 0) >= 3;
      expect(await answers('tor', `http://${EXT}:8080/`, 8)).toEqual(pods);
      const director = await eventually(
        () => fwm('node1'),
        caughtUp(() => '10.244.2.2:8080'),
        30000,
      );
      // Every request through IPVS in a tunnel, to both real servers. (Connection counts are not
      // exact: a client port reused while IPVS still holds the old connection reuses its entry.)
      expect(director['10.244.1.2:8080']![0]).toBeGreaterThan(0);
      expect(director['10.244.2.2:8080']![0]).toBeGreaterThan(0);
      expect(director['10.244.2.2:8080']![1]).toBeGreaterThanOrEqual(3);
      // Direct return: node2-pod1's answers never came back through the director (node1-pod1's
      // pass node1 on their way out, being its pod, and IPVS counts them there).
      expect(director['10.244.2.2:8080']![2]).toBe(0);
      // node2's estimator too has summed at least once more (2 s) since the last request.
      await new Promise((r) => setTimeout(r, 3000));
      expect((await fwm('node2'))[`FWM ${mark}`]).toEqual([0, 0, 0]);
      // IPv6 the same way.
      expect(await answers('tor', `http://[${EXT6}]:8080/`, 8)).toEqual(pods);
      const remoteOf6 = (c: Record<string, number[]>) => Object.keys(c).find((k) => k.startsWith('[fd00:10:244:2::'));
      const director6 = await eventually(() => fwm('node1', mark6), caughtUp(remoteOf6), 30000);
      const remote6 = remoteOf6(director6)!;
      expect(director6[remote6]![1]).toBeGreaterThanOrEqual(3);
      expect(director6[remote6]![2]).toBe(0);
      // Gone with the Service: the mark's virtual service, rule and mangle rule.
      await labCall('labDeleteService', 'dsr');
      await eventually(
        () => ipvs('node1'),
        (t) => !t.includes(`-f ${mark}`),
      );
      expect(await ipvs('node1')).not.toContain(`-f ${mark}`);
      expect(await sh(`ip -n ${PREFIX}node1 -4 rule show`)).not.toContain(`fwmark ${hex}`);
      expect(await sh(`ip -n ${PREFIX}node1 -4 route show table 78`)).toBe('');
      expect(await sh(`ip -n ${PREFIX}node1 -6 rule show`)).not.toContain(`fwmark ${hex6}`);
      expect(await sh(`ip -n ${PREFIX}node1 -6 route show table 78`)).toBe('');
      expect(await sh(`ip netns exec ${PREFIX}node1 iptables-save -t mangle`)).not.toContain(`-d ${EXT}/32`);
    } finally {
      await sh(`ip -n ${PREFIX}tor route del ${EXT}/32 2>/dev/null; ip -n ${PREFIX}tor -6 route del ${EXT6}/128 2>/dev/null; true`);
      await labCall('labDeleteService', 'dsr').catch(() => undefined);
    }
  });
}
