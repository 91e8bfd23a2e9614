/**
 * The VM's kernel: Debian's linux-image-amd64, booted uncompressed. qemu boots an ELF vmlinux
 * through PVH, skipping the bzImage's self-decompression under emulation (4-7 s to a shell
 * against 10-11 s); the vmlinux is the xz stream inside /boot/vmlinuz-*, extracted once and
 * cached.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../src/util/exec';

export const VM_CACHE_DIR = '/var/cache/kube-router-ts/vm';
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** The newest kernel under /boot that also has its modules installed. */
export function kernelVersion(): string {
  const versions = fs
    .readdirSync('/boot')
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((v) => fs.existsSync(path.join('/lib/modules', v, 'modules.dep')))
    .sort();
  const v = versions[versions.length - 1];
  if (!v) throw new Error('no kernel with modules in /boot and /lib/modules: apt install linux-image-amd64');
  return v;
}

/** Path of the uncompressed kernel for `version`, extracting it on first use. */
export async function vmlinux(version = kernelVersion()): Promise<string> {
  const out = path.join(VM_CACHE_DIR, `vmlinux-${version}`);
  if (fs.existsSync(out)) return out;
  const image = fs.readFileSync(`/boot/vmlinuz-${version}`);
  const at = image.indexOf(XZ_MAGIC);
  if (at < 0) throw new Error(`/boot/vmlinuz-${version} has no xz payload (is it built with CONFIG_KERNEL_XZ?)`);
  fs.mkdirSync(VM_CACHE_DIR, { recursive: true });
  const xz = path.join(VM_CACHE_DIR, `payload-${process.pid}.xz`);
  fs.writeFileSync(xz, image.subarray(at));
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    // --single-stream: the bzImage goes on after the stream; that is not an error.
    await run('sh', ['-c', 'xz -dc --single-stream "$0" > "$1"', xz, tmp], { timeout: 0 });
    const head = Buffer.alloc(4);
    const fd = fs.openSync(tmp, 'r');
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
    if (!head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])))
      throw new Error(`the payload of /boot/vmlinuz-${version} is not an ELF kernel`);
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(xz, { force: true });
    fs.rmSync(tmp, { force: true });
  }
  return out;
}
