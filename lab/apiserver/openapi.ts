/**
 * /openapi/v2, as small as kubectl accepts: a document with no definitions. kubectl's client-side
 * validation (`kubectl apply`, `create`, with --validate, the default) downloads it before it
 * sends anything, and validates only the kinds the document defines, so with none it leaves
 * checking to the server, which is what this lab's server can offer. Clients ask for the
 * protobuf form (gnostic's OpenAPIv2 Document: swagger = 1, info = 2 {title = 1, version = 2});
 * anything else gets JSON.
 */

const TITLE = 'Kubernetes';

/** A protobuf length-delimited field (wire type 2) with a one-byte tag. */
function field(number: number, payload: Buffer): Buffer {
  const len: number[] = [];
  let n = payload.length;
  do {
    len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Buffer.from([(number << 3) | 2, ...len]), payload]);
}

export function openApiV2(accept: string | undefined, version: string): { type: string; body: Buffer } {
  if ((accept ?? '').includes('protobuf')) {
    const info = Buffer.concat([field(1, Buffer.from(TITLE)), field(2, Buffer.from(version))]);
    return {
      type: 'application/octet-stream',
      body: Buffer.concat([field(1, Buffer.from('2.0')), field(2, info)]),
    };
  }
  const doc = { swagger: '2.0', info: { title: TITLE, version }, paths: {}, definitions: {} };
  return { type: 'application/json', body: Buffer.from(JSON.stringify(doc)) };
}
