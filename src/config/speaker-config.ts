/**
 * The standalone speaker's JSON configuration file. One schema validates and fills defaults; a
 * bad file is rejected with one message naming the field (BIRD bgp_postconfig style).
 */
import fs from 'node:fs';
import { z } from 'zod';
import { BFD_MAX } from './bfd-flags';
import { asNumber, canonicalAddress, describeZodError, family, holdTime, ipAddress, md5Key, port, prefix, routerId } from './validators';

const bfdSetting = (field: keyof typeof BFD_MAX) => z.number().int().min(1).max(BFD_MAX[field]);

const neighbor = z
  .object({
    address: canonicalAddress,
    asn: asNumber,
    port: port.default(179),
    passive: z.boolean().default(false),
    holdTime: holdTime.optional(),
    connectRetry: z.number().int().min(1).optional(),
    password: md5Key.optional(),
    families: z.array(family).nonempty().default(['ipv4-unicast']),
    localAddress: ipAddress.optional(),
    /** IP TTL of the session's packets (1 for a directly connected eBGP peer; more for multihop). */
    ttl: z.number().int().min(1).max(255).optional(),
    nextHopIpv6: ipAddress.optional(),
    description: z.string().optional(),
    /** RFC 4486 max-prefix: most prefixes accepted per family; more closes the session. */
    maxPrefixes: z.number().int().min(1).max(4294967295).optional(),
    /** Seconds the session stays down after the limit was hit (default 60). */
    maxPrefixesRestart: z.number().int().min(1).max(86400).optional(),
    /** RFC 4456: this iBGP neighbour is our route reflection client. */
    routeReflectorClient: z.boolean().optional(),
    /** BFD (RFC 5880/5881) guarding the session; intervals in milliseconds, as kube-router's flags. */
    bfd: z
      .object({
        port: bfdSetting('port').default(3784),
        detectMultiplier: bfdSetting('detectMultiplier').default(3),
        desiredMinTxMs: bfdSetting('desiredMinTxMs').default(1000),
        requiredMinRxMs: bfdSetting('requiredMinRxMs').default(1000),
      })
      .strict()
      .optional(),
  })
  .strict();

export const speakerConfigSchema = z
  .object({
    routerId,
    asn: asNumber,
    listen: z
      .object({ address: ipAddress.optional(), port: port.default(179) })
      .strict()
      .or(z.literal(false))
      .default({ port: 179 }),
    holdTime: holdTime.default(90),
    connectRetry: z.number().int().min(1).default(120),
    hostname: z.string().optional(),
    /** RFC 4456: our route reflection cluster ID (default: the router ID, when a neighbour is a client). */
    clusterId: routerId.optional(),
    /** RFC 4724: advertise graceful restart and keep the routes of peers that restart. */
    gracefulRestart: z
      .object({
        restartTime: z.number().int().min(1).max(4095, 'the restart time field has 12 bits (max 4095 s)'),
        /** This start follows a graceful stop: OPENs set the Restart State bit until every peer's End-of-RIB. */
        restarting: z.boolean().default(false),
      })
      .strict()
      .optional(),
    neighbors: z.array(neighbor).default([]),
    advertise: z.array(prefix).default([]),
    adminSocket: z.string().min(1).default('/run/kube-router-ts/speaker.sock'),
    /** GoBGP's gRPC API, read-only, for the gobgp CLI (the agent's --gobgp-admin-address/-port). */
    gobgpAdmin: z
      .object({ addresses: z.array(ipAddress).min(1).default(['127.0.0.1']), port })
      .strict()
      .optional(),
    /**
     * Routes of a synthetic table sent through a throwaway speaker before this one listens, so
     * that the first real table finds the UPDATE path compiled (bgp/speaker/warm-up.ts); 0: none.
     */
    warmUpRoutes: z.number().int().min(0).max(100000).default(20000),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.neighbors.forEach((n, i) => {
      if (seen.has(n.address))
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['neighbors', i, 'address'], message: `duplicate neighbor ${n.address}` });
      seen.add(n.address);
    });
  });

export type SpeakerConfig = z.infer<typeof speakerConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function parseSpeakerConfig(raw: unknown, source = 'config'): SpeakerConfig {
  const r = speakerConfigSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(`${source}: ${describeZodError(r.error)}`);
  return Object.freeze(r.data);
}

export function loadSpeakerConfig(file: string): SpeakerConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return parseSpeakerConfig(raw, file);
}
