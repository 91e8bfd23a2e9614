/**
 * kube-router's BFD flags (part of the agent's one option table, agent-config.ts): BFD on the
 * sessions with external peers given by --peer-router-ips, with one set of timers for all of them
 * (per-node peers set their own in kube-router.io/peers). Ranges as kube-router validates them.
 */
import type { Options } from 'yargs';
// Types only: --help and --version must not load the BGP library (test/cli).
import type { BfdSettings } from '../../bgp';

export const BFD_OPTIONS = {
  'enable-bfd': {
    type: 'boolean',
    default: false,
    describe: 'BFD (RFC 5880) on the sessions with the external peers of --peer-router-ips.',
  },
  'bfd-port': { type: 'number', default: 3784, describe: 'BFD: UDP port of the control packets (sent to, and listened on).' },
  'bfd-detection-multiplier': { type: 'number', default: 3, describe: 'BFD failure detection multiplier (1-255).' },
  'bfd-desired-min-tx-interval': { type: 'number', default: 1000, describe: 'BFD: desired minimum transmit interval, milliseconds.' },
  'bfd-required-min-rx-interval': { type: 'number', default: 1000, describe: 'BFD: required minimum receive interval, milliseconds.' },
} as const satisfies Record<string, Options>;

type BfdArgs = { [K in keyof typeof BFD_OPTIONS]?: unknown };

/** Largest value of each setting (all start at 1); RFC 5880 carries intervals as 32-bit microseconds. */
export const BFD_MAX: Record<keyof BfdSettings, number> = {
  port: 65535,
  detectMultiplier: 255,
  desiredMinTxMs: Math.floor(0xffffffff / 1000),
  requiredMinRxMs: Math.floor(0xffffffff / 1000),
};

const FIELDS: [keyof typeof BFD_OPTIONS, keyof BfdSettings, string][] = [
  ['bfd-port', 'port', 'a UDP port'],
  ['bfd-detection-multiplier', 'detectMultiplier', 'a detection multiplier'],
  ['bfd-desired-min-tx-interval', 'desiredMinTxMs', 'an interval in milliseconds'],
  ['bfd-required-min-rx-interval', 'requiredMinRxMs', 'an interval in milliseconds'],
];

/**
 * The BFD timers of --peer-router-ips' sessions when --enable-bfd, else undefined. Every value is
 * checked either way (kube-router validates them whether or not BFD is on); `fail` throws the
 * flag's error.
 */
export function bfdFromFlags(a: BfdArgs, fail: (flag: string, why: string) => never): BfdSettings | undefined {
  const out = {} as BfdSettings;
  for (const [flag, field, what] of FIELDS) {
    const raw = a[flag] ?? BFD_OPTIONS[flag].default;
    const value = Number(raw);
    const max = BFD_MAX[field];
    if (!Number.isInteger(value) || value < 1 || value > max) fail(flag, `${JSON.stringify(String(raw))} is not ${what} (1-${max})`);
    out[field] = value;
  }
  return a['enable-bfd'] === true ? out : undefined;
}
