/** Shared zod pieces for addresses, prefixes and AS numbers, used by every config schema. */
import { z } from 'zod';
import ipaddr from 'ipaddr.js';
import { canonicalPrefix } from '../../bgp/codec/prefix';

export const ipAddress = z.string().refine((s) => ipaddr.isValid(s), { message: 'must be an IPv4 or IPv6 address' });
export const ipv4Address = z.string().refine((s) => ipaddr.IPv4.isValidFourPartDecimal(s), { message: 'must be an IPv4 address (a.b.c.d)' });
export const asNumber = z.number().int().min(1, 'AS numbers start at 1').max(4294967295, 'AS numbers are 32-bit');
export const port = z.number().int().min(1).max(65535);
/** RFC 4271 4.2: 0 (no keepalives) or at least 3 seconds. */
export const holdTime = z.number().int().max(65535).refine((n) => n === 0 || n >= 3, { message: 'must be 0 or at least 3 seconds' });
export const prefix = z.string().transform((s, ctx) => {
  try {
    return canonicalPrefix(s);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
    return z.NEVER;
  }
});
export const family = z.enum(['ipv4-unicast', 'ipv6-unicast']);

/** "neighbors[0].asn: must be ..." for the first problem, for one clear line of error. */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      const where = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
      return `${where || '(top level)'}: ${i.message}`;
    })
    .join('; ');
}
