/**
 * kube-router's own manifests run unchanged: every flag of kube-router (pkg/options/options.go)
 * is taken, and each kube-router container argument list of its daemonset/ folder, exactly as
 * written there (test/fixtures/kube-router-manifests.json), passes `--print-config`, which prints
 * every option after defaults under its kube-router name and touches nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../src/util/exec';
import { CLI } from '../helpers/our-speaker';

const FIXTURE = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/kube-router-manifests.json'), 'utf8')) as {
  flags: string[];
  args: Record<string, string[]>;
};
const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { allowFail: true });
/** The value a flag was given on a command line, as text. */
const given = (args: string[], flag: string): string | undefined => args.find((a) => a.startsWith(`--${flag}=`))?.split('=')[1];

describe("kube-router's flags and manifests", () => {
  it('--print-config lists every kube-router flag (help and version aside) with its default', async () => {
    const r = await cli('--print-config');
    expect(r.code).toBe(0);
    const config = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(FIXTURE.flags.filter((f) => !['help', 'version'].includes(f) && !(f in config))).toEqual([]);
    // Some of kube-router's defaults, as it has them.
    expect(config).toMatchObject({
      'run-router': true,
      'run-firewall': true,
      'iptables-sync-period': '5m',
      'service-node-port-range': '30000-32767',
      'ipvs-permit-all': true,
      'gobgp-admin-port': 50051,
      'bfd-detection-multiplier': 3,
      'run-service-proxy': true,
      'strict-external-ip-validation': true,
      'run-loadbalancer': false,
      'loadbalancer-default-class': true,
      // Integers in kube-router are numbers here too, lists of them included.
      'bgp-port': 179,
      'cluster-asn': 64512,
      'health-port': 20244,
      'metrics-port': 0,
    });
    const peers = JSON.parse(
      (
        await cli(
          '--peer-router-ips=192.0.2.1,192.0.2.2',
          '--peer-router-asns=65001,65002',
          '--peer-router-multihop-ttl=3',
          '--print-config',
        )
      ).stdout,
    ) as Record<string, unknown>;
    expect(peers).toMatchObject({ 'peer-router-asns': [65001, 65002], 'peer-router-multihop-ttl': 3 });
  });

  it.each(Object.entries(FIXTURE.args).filter(([, args]) => !args.some((a) => a.includes('<CHANGE ME>'))))(
    '%s: its argument list passes --print-config, each flag as given',
    async (_file, args) => {
      const r = await cli(...args, '--print-config');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const config = JSON.parse(r.stdout) as Record<string, unknown>;
      for (const a of args) {
        const flag = a.replace(/^--/, '').split('=')[0]!;
        const value = given(args, flag)!;
        const have = config[flag];
        expect([flag, Array.isArray(have) ? have.join(',') : String(have)]).toEqual([flag, value]);
      }
    },
  );

  it('the manifest with "<CHANGE ME>" placeholders is refused in one line naming the flag, and passes once they are filled in', async () => {
    const args = FIXTURE.args['generic-kuberouter-only-advertise-routes.yaml']!;
    const r = await cli(...args, '--print-config');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^kube-router-ts: --peer-router-ips: /);
    const filled = args.map((a) =>
      a.replace('--peer-router-ips=<CHANGE ME>', '--peer-router-ips=192.168.1.1').replace('<CHANGE ME>', '64513'),
    );
    expect((await cli(...filled, '--print-config')).code).toBe(0);
  });

  it('a bad value or an unknown flag: status 2, one line naming it', async () => {
    for (const [args, line] of [
      [['--ipvs-sync-period=0s'], /^kube-router-ts: --ipvs-sync-period: must be greater than 0$/],
      [['--service-node-port-range=32767-30000'], /^kube-router-ts: --service-node-port-range: /],
      [['--excluded-cidrs=10.0.0.0/33'], /^kube-router-ts: --excluded-cidrs: /],
      [['--bogus'], /^kube-router-ts: Unknown argument: bogus \(run with --help for usage\)$/],
    ] as const) {
      const r = await cli(...args, '--print-config');
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(line)]);
    }
  });

  it("kube-router's short forms: -h, -V, -v", async () => {
    expect((await cli('-h')).stdout).toMatch(/--run-firewall/);
    expect((await cli('-V')).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(JSON.parse((await cli('-v', '3', '--print-config')).stdout).v).toBe('3');
  });
});
