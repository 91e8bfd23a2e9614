/**
 * TCP MD5 signatures (RFC 2385) and eBGP TTLs through our native addon (native/tcp-md5):
 * node:net cannot set TCP_MD5SIG or IP_TTL before connect(), nor TCP_MD5SIG on a listening
 * socket. Loaded lazily, so sessions without either never need it; a password or TTL without
 * the addon is a clear error, not a silently unsigned or wrongly scoped session.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { PendingTransport, Transport } from '../fsm/connection';

interface Addon {
  connect(
    remote: string,
    port: number,
    local: string | null,
    key: string,
    ttl: number,
    cb: (err: string | null, fd: number | null) => void,
  ): object;
  cancel(handle: object): void;
  setKey(fd: number, peer: string, key: string): void;
  setTtl(fd: number, ttl: number): void;
}

let addon: Addon | undefined;

/** The compiled addon, from the source tree, from next to dist/, or next to the single-file bundle in dist/. */
function load(): Addon {
  if (addon) return addon;
  const rel = 'native/tcp-md5/build/Release/tcp_md5.node';
  const candidates = ['../..', '../../..', '..'].map((up) => path.resolve(__dirname, up, rel));
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`TCP MD5 needs the native addon ${rel}; build it with "npm run build"`);
  // A path found at run time: only require() loads a native addon.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon = require(found) as Addon;
  return addon;
}

export function md5Available(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens a connection signed with `key` (none when "") and sent with IP TTL `ttl` (the system's
 * default when 0); the socket is a net.Socket over the fd the addon connected.
 */
export function connectMd5(remote: string, port: number, local: string | undefined, key: string, ttl = 0): PendingTransport {
  const a = load();
  // The addon refuses it too, but inside the promise; say it here, where the caller asked.
  if (Buffer.byteLength(key) > 80) throw new RangeError('TCP MD5 key longer than 80 bytes (TCP_MD5SIG_MAXKEYLEN)');
  let handle: object | undefined;
  const done = new Promise<Transport>((resolve, reject) => {
    handle = a.connect(remote, port, local ?? null, key, ttl, (err, fd) => {
      if (err || fd === null) reject(new Error(err ?? 'connect failed'));
      else resolve(new net.Socket({ fd, readable: true, writable: true }).setNoDelay(true).on('error', () => undefined));
    });
  });
  return { done, cancel: () => handle && a.cancel(handle) };
}

/** The fd behind a listening net.Server or a connected net.Socket (libuv exposes it on the handle). */
function handleFd(s: net.Server | net.Socket, what: string): number {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error(`the ${what} has no file descriptor to set an option on`);
  return fd;
}

/** Sets the IP TTL (hop limit) of an accepted connection. */
export function setSocketTtl(socket: net.Socket, ttl: number): void {
  load().setTtl(handleFd(socket, 'connection'), ttl);
}

/** Installs (or with key "" removes) the key for connections from `peer` on a listener. */
export function setListenerKey(server: net.Server, peer: string, key: string): void {
  load().setKey(handleFd(server, 'listener'), peer, key);
}
