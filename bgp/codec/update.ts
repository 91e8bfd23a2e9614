/**
 * UPDATE message body (RFC 4271 4.3, RFC 4760). Length fields that do not add up reset the
 * session (RFC 4271 6.3, RFC 7606 section 3); malformed attributes are reported with their RFC
 * 7606 action; a missing well-known mandatory attribute is treat-as-withdraw (RFC 7606 3(d)).
 */
import { AttrCode, MessageType } from './constants';
import { BgpError, ErrorCode, UpdateSubcode } from './errors';
import { ErrorAction } from './error-handling';
import { Reader } from './reader';
import { Writer } from './writer';
import { decodeIpv4Keys, encodePrefix } from './prefix';
import { decodeAttributes, encodeAttributes, CodecContext } from './attributes';
import type { ReceivedUpdate, UpdateMessage } from './messages';

const MALFORMED_LIST = { code: ErrorCode.UpdateMessage, subcode: UpdateSubcode.MalformedAttributeList };
const BAD_NETWORK = { code: ErrorCode.UpdateMessage, subcode: UpdateSubcode.InvalidNetworkField };

export function decodeUpdate(body: Reader, ctx: CodecContext): ReceivedUpdate {
  const withdrawnLen = body.u16('withdrawn routes length');
  // The 2-octet Total Path Attribute Length must also fit: 4 octets of length fields in all.
  if (withdrawnLen + 2 > body.remaining) {
    throw new BgpError(
      MALFORMED_LIST.code,
      MALFORMED_LIST.subcode,
      Buffer.alloc(0),
      `withdrawn routes length ${withdrawnLen} exceeds the message`,
    );
  }
  // RFC 7606 5.3: NLRI we cannot parse reliably resets the session.
  const withdrawn = decodeIpv4Keys(body.sub(withdrawnLen, 'withdrawn routes'), BAD_NETWORK);
  const attrLen = body.u16('total path attribute length');
  if (attrLen > body.remaining) {
    throw new BgpError(
      MALFORMED_LIST.code,
      MALFORMED_LIST.subcode,
      Buffer.alloc(0),
      `total path attribute length ${attrLen} exceeds the message`,
    );
  }
  const attrs = decodeAttributes(body.sub(attrLen, 'path attributes'), ctx);
  const nlri = decodeIpv4Keys(body, BAD_NETWORK);

  const update: ReceivedUpdate = {
    type: MessageType.Update,
    withdrawn,
    attributes: attrs.attributes,
    nlri,
    action: attrs.action,
    problems: attrs.problems,
    withdrawnByError: attrs.withdrawnByError,
  };
  checkMandatory(update);
  return update;
}

/** RFC 4271 5 / RFC 7606 3(d): ORIGIN and AS_PATH with any NLRI, NEXT_HOP with classic NLRI. */
function checkMandatory(u: ReceivedUpdate): void {
  let origin = false;
  let asPath = false;
  let nextHop = false;
  let mpNlri = false;
  for (const a of u.attributes) {
    if (a.kind === 'origin') origin = true;
    else if (a.kind === 'asPath') asPath = true;
    else if (a.kind === 'nextHop') nextHop = true;
    else if (a.kind === 'mpReach' && a.nlri.length > 0) mpNlri = true;
  }
  if (u.nlri.length === 0 && !mpNlri) return;
  if (!origin) missing(u, AttrCode.Origin, 'ORIGIN');
  if (!asPath) missing(u, AttrCode.AsPath, 'AS_PATH');
  if (u.nlri.length > 0 && !nextHop) missing(u, AttrCode.NextHop, 'NEXT_HOP');
}

function missing(u: ReceivedUpdate, code: AttrCode, name: string): void {
  // A discarded-as-malformed attribute already counts as a problem; do not report it twice.
  if (u.problems.some((p) => p.code === code)) return;
  u.problems.push({ action: ErrorAction.TreatAsWithdraw, code, reason: `missing well-known attribute ${name}` });
  u.action = ErrorAction.TreatAsWithdraw;
}

export function encodeUpdate(w: Writer, m: UpdateMessage, ctx: CodecContext): void {
  const wMark = w.lengthMark(2);
  for (const p of m.withdrawn) encodePrefix(w, p);
  w.fillLength(wMark, 2);
  const aMark = w.lengthMark(2);
  encodeAttributes(w, m.attributes, ctx);
  w.fillLength(aMark, 2);
  for (const p of m.nlri) encodePrefix(w, p);
}
