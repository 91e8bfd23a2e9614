/**
 * OPEN message body (RFC 4271 4.2) with capability optional parameters (RFC 5492) and the
 * extended optional parameters length of RFC 9072. Structure only: whether the values are
 * acceptable (version, AS, hold time, identifier) is the session's decision.
 */
import { MessageType } from './constants';
import { BgpError, ErrorCode, OpenSubcode } from './errors';
import { Reader } from './reader';
import { Writer } from './writer';
import { formatIpv4, parseIp } from '../../net';
import { decodeCapabilities, encodeCapability, Capability } from './capabilities';
import type { OpenMessage } from './messages';

const CAPABILITIES_PARAM = 2;
const OPEN_ERROR = { code: ErrorCode.OpenMessage, subcode: OpenSubcode.Unspecific };

export function decodeOpen(body: Reader): OpenMessage {
  const version = body.u8('version');
  const myAs = body.u16('my AS');
  const holdTime = body.u16('hold time');
  const bgpId = formatIpv4(body.bytes(4, 'BGP identifier'));
  let paramsLen = body.u8('optional parameters length');
  let extendedParams = false;
  // RFC 9072: length 255 followed by parameter type 255 announces 2-octet lengths.
  if (paramsLen === 255 && body.remaining >= 3 && body.sliceAhead(1)[0] === 255) {
    body.u8();
    paramsLen = body.u16('extended optional parameters length');
    extendedParams = true;
  }
  if (paramsLen !== body.remaining) {
    throw new BgpError(
      OPEN_ERROR.code,
      OPEN_ERROR.subcode,
      Buffer.alloc(0),
      `OPEN optional parameters length ${paramsLen}, ${body.remaining} octets present`,
    );
  }
  const params = body.sub(paramsLen, 'optional parameters', OPEN_ERROR);
  const capabilities: Capability[] = [];
  const paramLayout: number[] = [];
  while (!params.done) {
    const type = params.u8('parameter type');
    const len = extendedParams ? params.u16('parameter length') : params.u8('parameter length');
    const value = params.sub(len, 'parameter value');
    if (type !== CAPABILITIES_PARAM) {
      throw new BgpError(
        ErrorCode.OpenMessage,
        OpenSubcode.UnsupportedOptionalParameter,
        Buffer.alloc(0),
        `optional parameter type ${type}`,
      );
    }
    const caps = decodeCapabilities(value);
    paramLayout.push(caps.length);
    capabilities.push(...caps);
  }
  const open: OpenMessage = { type: MessageType.Open, version, myAs, holdTime, bgpId, capabilities, paramLayout };
  if (extendedParams) open.extendedParams = true;
  return open;
}

export function encodeOpen(w: Writer, m: OpenMessage): void {
  w.u8(m.version).u16(m.myAs).u16(m.holdTime).bytes(parseIp(m.bgpId));
  const params = new Writer(128);
  const layout = m.paramLayout ?? (m.capabilities.length ? [m.capabilities.length] : []);
  let next = 0;
  for (const count of layout) {
    params.u8(CAPABILITIES_PARAM);
    const mark = params.lengthMark(m.extendedParams ? 2 : 1);
    for (const c of m.capabilities.slice(next, next + count)) encodeCapability(params, c);
    next += count;
    params.fillLength(mark, m.extendedParams ? 2 : 1);
  }
  const bytes = params.toBuffer();
  if (m.extendedParams) w.u8(255).u8(255).u16(bytes.length);
  else if (bytes.length >= 255) throw new RangeError('optional parameters exceed 254 octets; set extendedParams (RFC 9072)');
  else w.u8(bytes.length);
  w.bytes(bytes);
}
