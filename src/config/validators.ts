/** Shared zod pieces for addresses, prefixes and AS numbers, used by every config schema. */
import { z } from 'zod';
import { canonicalPrefix, isIp, isIpv4, normalizeAddress } from '../../net';

export const ipAddress = z.string().refine((s) => isIp(s), { message: 'must be an IPv4 or IPv6 address' });
export const ipv4Address = z.string().refine((s) => isIpv4(s), { message: 'must be an IPv4 address (a.b.c.d)' });
/** An address in the one form sockets and the speaker use ("::ffff:10.0.0.1" is 10.0.0.1, IPv6 compressed), so one neighbour cannot be written two ways. */
export const canonicalAddress = ipAddress.transform((s) => normalizeAddress(s)!);
/** RFC 6286 2.1: the BGP Identifier is a non-zero 32-bit number. */
export const routerId = ipv4Address.refine((s) => s !== '0.0.0.0', {
  message: 'must not be 0.0.0.0 (RFC 6286: a non-zero BGP Identifier)',
});
/** RFC 2385 keys as the kernel takes them: 1 to 80 octets (not characters). */
export const md5Key = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s) <= 80, { message: 'TCP MD5 keys are at most 80 bytes' });
export const asNumber = z.number().int().min(1, 'AS numbers start at 1').max(4294967295, 'AS numbers are 32-bit');
export const port = z.number().int().min(1).max(65535);
/** RFC 4271 4.2: 0 (no keepalives) or at least 3 seconds. */
export const holdTime = z
  .number()
  .int()
  .max(65535)
  .refine((n) => n === 0 || n >= 3, { message: 'must be 0 or at least 3 seconds' });
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
      const where = i.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
        .join('')
        .replace(/^\./, '');
      return `${where || '(top level)'}: ${i.message}`;
    })
    .join('; ');
}
