/**
 * Packs route changes into UPDATE messages: prefixes that share attributes travel together, as
 * many per message as fit in 4096 octets. IPv4 with an IPv4 next hop uses the classic fields;
 * IPv6 (and IPv4 with an IPv6 next hop, RFC 8950) uses MP_REACH/MP_UNREACH (RFC 4760).
 */
import { Afi, AttrFlag, Family, MAX_MESSAGE_LENGTH, MessageType, afiSafiOf } from '../codec/constants';
import type { Attribute, CodecContext } from '../codec/attributes';
import { attributeCode, defaultFlags } from '../codec/attributes';
import { encodeMessage } from '../codec/message';
import type { UpdateMessage } from '../codec/messages';
import { isIpv4, prefixText, type PrefixKey } from '../../net';
import { PathAttributes, toWire } from '../rib/path';

const MP_FLAGS = AttrFlag.Optional | AttrFlag.ExtendedLength;

/** Octets of a prefix on the wire, from its length (the number's low bits, or the text after its slash). */
function prefixSize(prefix: PrefixKey): number {
  let len = 0;
  if (typeof prefix === 'number') len = prefix % 64;
  else for (let i = prefix.lastIndexOf('/') + 1; i < prefix.length; i++) len = len * 10 + prefix.charCodeAt(i) - 48;
  return 1 + ((len + 7) >> 3);
}

/** The longest prefix on the wire: a /128, length octet and 16 address octets. */
const MAX_PREFIX_SIZE = 17;

/** Splits prefixes into runs whose encoded size fits `room` octets each. */
function chunks(prefixes: readonly PrefixKey[], room: number): PrefixKey[][] {
  const out: PrefixKey[][] = [];
  let cur: PrefixKey[] = [];
  let used = 0;
  for (const p of prefixes) {
    const size = prefixSize(p);
    if (used + size > room && cur.length) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(p);
    used += size;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Withdrawals of one family, packed. */
export function buildWithdrawals(family: Family, prefixes: readonly PrefixKey[], ctx: CodecContext): Buffer[] {
  if (prefixes.length === 0) return [];
  const { afi, safi } = afiSafiOf(family);
  const template = (w: PrefixKey[]): UpdateMessage =>
    afi === Afi.Ipv4
      ? { type: MessageType.Update, withdrawn: w, attributes: [], nlri: [] }
      : {
          type: MessageType.Update,
          withdrawn: [],
          nlri: [],
          attributes: [{ kind: 'mpUnreach', flags: MP_FLAGS, afi, safi, withdrawn: w.map(prefixText) }],
        };
  const room = MAX_MESSAGE_LENGTH - encodeMessage(template([]), ctx).length;
  return chunks(prefixes, room).map((c) => encodeMessage(template(c), ctx));
}

/**
 * Announcements of prefixes sharing one attribute set, packed. Attributes may be legal as
 * received and still too long to send: a peer's near-4096-octet UPDATE with our AS prepended,
 * or 4-octet ASNs written twice (AS_PATH and AS4_PATH) toward a 2-octet peer. Prefixes that
 * cannot go in any UPDATE with these attributes come back in `tooLong` instead of throwing.
 */
export function packAnnouncements(
  family: Family,
  attrs: PathAttributes,
  prefixes: readonly PrefixKey[],
  ctx: CodecContext,
): { messages: Buffer[]; tooLong: PrefixKey[] } {
  if (prefixes.length === 0) return { messages: [], tooLong: [] };
  const base = toWire(attrs, ctx.as4);
  const { afi, safi } = afiSafiOf(family);
  const classic = afi === Afi.Ipv4 && isIpv4(attrs.nextHop);
  const template = (p: PrefixKey[]): UpdateMessage => {
    if (classic) {
      const withNh: Attribute[] = [...base, { kind: 'nextHop', flags: defaultFlags('nextHop'), nextHop: attrs.nextHop }];
      return { type: MessageType.Update, withdrawn: [], attributes: withNh.sort((x, y) => attributeCode(x) - attributeCode(y)), nlri: p };
    }
    const nextHops = attrs.linkLocalNextHop ? [attrs.nextHop, attrs.linkLocalNextHop] : [attrs.nextHop];
    // RFC 4760 recommends MP_REACH_NLRI first, which also lets receivers find the family early.
    return {
      type: MessageType.Update,
      withdrawn: [],
      nlri: [],
      attributes: [{ kind: 'mpReach', flags: MP_FLAGS, afi, safi, nextHops, nlri: p.map(prefixText) }, ...base],
    };
  };
  let room: number;
  try {
    room = MAX_MESSAGE_LENGTH - encodeMessage(template([]), ctx).length;
  } catch (e) {
    // The codec refuses values its length fields cannot hold: nothing with them can be sent.
    if (e instanceof RangeError) return { messages: [], tooLong: [...prefixes] };
    throw e;
  }
  // Nearly always every prefix fits: the filters run only when attributes leave little room.
  const fitting = room >= MAX_PREFIX_SIZE ? prefixes : prefixes.filter((p) => prefixSize(p) <= room);
  const tooLong = fitting.length === prefixes.length ? [] : prefixes.filter((p) => prefixSize(p) > room);
  return { messages: chunks(fitting, room).map((c) => encodeMessage(template(c), ctx)), tooLong };
}

/** Announcements that must all fit (our own tools and tests); throws RangeError otherwise. */
export function buildAnnouncements(family: Family, attrs: PathAttributes, prefixes: readonly PrefixKey[], ctx: CodecContext): Buffer[] {
  const { messages, tooLong } = packAnnouncements(family, attrs, prefixes, ctx);
  if (tooLong.length) throw new RangeError(`path attributes leave no room for ${prefixText(tooLong[0]!)} in a 4096-octet UPDATE`);
  return messages;
}

/** RFC 4724 2: End-of-RIB is an empty UPDATE (IPv4) or an empty MP_UNREACH_NLRI. */
export function endOfRib(family: Family, ctx: CodecContext): Buffer {
  const { afi, safi } = afiSafiOf(family);
  const msg: UpdateMessage =
    afi === Afi.Ipv4
      ? { type: MessageType.Update, withdrawn: [], attributes: [], nlri: [] }
      : {
          type: MessageType.Update,
          withdrawn: [],
          nlri: [],
          attributes: [{ kind: 'mpUnreach', flags: AttrFlag.Optional, afi, safi, withdrawn: [] }],
        };
  return encodeMessage(msg, ctx);
}
