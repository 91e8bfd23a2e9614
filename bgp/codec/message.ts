/**
 * Whole messages: the 19-octet header (RFC 4271 4.1, checked per 6.1) and one dispatch switch
 * to the body codecs. `decodeMessage` takes exactly one message as framed by `Framer`.
 */
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from './constants';
import { BgpError, ErrorCode, HeaderSubcode, RouteRefreshSubcode } from './errors';
import { Reader } from './reader';
import { Writer } from './writer';
import { decodeOpen, encodeOpen } from './open';
import { decodeUpdate, encodeUpdate } from './update';
import type { CodecContext } from './attributes';
import type { Message, ReceivedMessage, NotificationMessage, RouteRefreshMessage } from './messages';

/** Smallest legal length per type (RFC 4271 4.2-4.5, RFC 2918 3). */
const MIN_LENGTH: Record<number, number> = {
  [MessageType.Open]: 29,
  [MessageType.Update]: 23,
  [MessageType.Notification]: 21,
  [MessageType.Keepalive]: 19,
  [MessageType.RouteRefresh]: 23,
};

export const DEFAULT_CONTEXT: CodecContext = { as4: true };

export interface Header {
  length: number;
  type: number;
}

/**
 * Validates the header at the start of `buf` (at least 19 octets). Throws the Message Header
 * Error of RFC 4271 6.1, with the offending field as data.
 */
export function checkHeader(buf: Buffer): Header {
  for (let i = 0; i < 16; i++) {
    if (buf[i] !== 0xff)
      throw new BgpError(ErrorCode.MessageHeader, HeaderSubcode.ConnectionNotSynchronized, Buffer.alloc(0), 'marker is not all ones');
  }
  const length = buf.readUInt16BE(16);
  const type = buf[18]!;
  const badLength = (): BgpError =>
    new BgpError(
      ErrorCode.MessageHeader,
      HeaderSubcode.BadMessageLength,
      buf.subarray(16, 18),
      `length ${length} for message type ${type}`,
    );
  if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH) throw badLength();
  const min = MIN_LENGTH[type];
  if (min === undefined) throw new BgpError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageType, buf.subarray(18, 19), `type ${type}`);
  if (length < min || (type === MessageType.Keepalive && length !== HEADER_LENGTH)) throw badLength();
  return { length, type };
}

/** Decodes one complete message (header included). Throws BgpError for the NOTIFICATION to send. */
export function decodeMessage(buf: Buffer, ctx: CodecContext = DEFAULT_CONTEXT): ReceivedMessage {
  if (buf.length < HEADER_LENGTH) {
    throw new BgpError(
      ErrorCode.MessageHeader,
      HeaderSubcode.BadMessageLength,
      Buffer.alloc(0),
      `${buf.length} octets is shorter than a header`,
    );
  }
  const { length, type } = checkHeader(buf);
  if (length !== buf.length) {
    throw new BgpError(
      ErrorCode.MessageHeader,
      HeaderSubcode.BadMessageLength,
      buf.subarray(16, 18),
      `length field ${length}, ${buf.length} octets given`,
    );
  }
  // Short reads inside a body default to Bad Message Length; body codecs narrow this where the RFC does.
  const body = new Reader(buf, { code: ErrorCode.MessageHeader, subcode: HeaderSubcode.BadMessageLength }, HEADER_LENGTH);
  switch (type) {
    case MessageType.Open:
      return decodeOpen(body);
    case MessageType.Update:
      return decodeUpdate(body, ctx);
    case MessageType.Notification:
      return { type, code: body.u8(), subcode: body.u8(), data: Buffer.from(body.rest()) };
    case MessageType.Keepalive:
      return { type };
    case MessageType.RouteRefresh:
      // RFC 7313 section 5: a ROUTE-REFRESH whose length is not 23 gets error 7/1 with the message.
      if (length !== 23)
        throw new BgpError(ErrorCode.RouteRefreshMessage, RouteRefreshSubcode.InvalidMessageLength, Buffer.from(buf), `length ${length}`);
      return { type, afi: body.u16(), subtype: body.u8(), safi: body.u8() };
    default:
      throw new BgpError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageType, Buffer.from([type]));
  }
}

export function encodeMessage(m: Message, ctx: CodecContext = DEFAULT_CONTEXT): Buffer {
  const w = new Writer(m.type === MessageType.Update ? 512 : 64);
  for (let i = 0; i < 16; i++) w.u8(0xff);
  const lengthAt = w.lengthMark(2);
  w.u8(m.type);
  switch (m.type) {
    case MessageType.Open:
      encodeOpen(w, m);
      break;
    case MessageType.Update:
      encodeUpdate(w, m, ctx);
      break;
    case MessageType.Notification:
      w.u8(m.code).u8(m.subcode).bytes(m.data);
      break;
    case MessageType.Keepalive:
      break;
    case MessageType.RouteRefresh:
      w.u16(m.afi).u8(m.subtype).u8(m.safi);
      break;
  }
  const buf = w.toBuffer();
  // The length field counts the whole message, header included (RFC 4271 4.1).
  buf.writeUInt16BE(buf.length, lengthAt);
  if (buf.length > MAX_MESSAGE_LENGTH) throw new RangeError(`message of ${buf.length} octets exceeds ${MAX_MESSAGE_LENGTH}`);
  return buf;
}

export const keepalive = (): Buffer => encodeMessage({ type: MessageType.Keepalive });

export function notification(code: number, subcode: number, data: Buffer = Buffer.alloc(0)): NotificationMessage {
  return { type: MessageType.Notification, code, subcode, data };
}

export function routeRefresh(afi: number, safi: number, subtype = 0): RouteRefreshMessage {
  return { type: MessageType.RouteRefresh, afi, safi, subtype };
}
