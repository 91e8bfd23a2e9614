/**
 * The VM's initramfs: busybox-static, the few modules needed to reach the host's filesystem
 * (virtio PCI, 9p, overlay) and an /init that mounts the host's / read-only over 9p under a
 * tmpfs overlay, mounts the writable scratch share at its host path, and hands over to the job
 * runner inside that tree: the host's node, iproute2, ipset and iptables run unchanged in the VM.
 * Built once per kernel and init script, cached.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { run } from '../../src/util/exec';
import { VM_CACHE_DIR } from './kernel';

/** Modules /init loads itself; everything else the host tree's modprobe loads on demand. */
const BOOT_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];

/**
 * The kernel execs /sbin/modprobe in the initramfs root when it wants a module (a new netdev
 * kind, an iptables match): hand that to the host tree's modprobe and modules.
 */
const MODPROBE = `#!/bin/busybox sh
exec /bin/busybox chroot /newroot /sbin/modprobe "$@"
`;

export const INIT = `#!/bin/busybox sh
# kube-router-ts VM init: host / (read-only, 9p) + tmpfs overlay as the root, scratch share at its
# host path, then the job runner. Its exit powers the VM off.
bb=/bin/busybox
$bb mkdir -p /proc /sys /dev /host /rw /newroot
$bb mount -t proc proc /proc
$bb mount -t sysfs sys /sys
$bb mount -t devtmpfs dev /dev
for m in $($bb cat /modules.order); do $bb insmod "$m" || echo "init: insmod $m failed"; done
# The host's files do not change under us (but for the scratch share): cache them.
$bb mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /host || { echo "init: cannot mount the host's /"; $bb reboot -f; }
$bb mount -t tmpfs -o size=75% tmpfs /rw
$bb mkdir -p /rw/upper /rw/work
$bb mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot || { echo "init: overlay failed"; $bb reboot -f; }
$bb mount -t proc proc /newroot/proc
$bb mount -t sysfs sys /newroot/sys
$bb mount -t devtmpfs dev /newroot/dev
$bb mkdir -p /newroot/dev/pts /newroot/dev/shm
$bb mount -t devpts devpts /newroot/dev/pts
$bb mount -t tmpfs tmpfs /newroot/dev/shm
# The checkout may live under /run or /tmp, which get fresh tmpfs: keep a handle on it first.
[ -n "$krt_keep" ] && $bb mkdir -p /keep && $bb mount -o bind "/newroot$krt_keep" /keep
$bb mount -t tmpfs tmpfs /newroot/run
$bb mount -t tmpfs tmpfs /newroot/tmp
if [ -n "$krt_keep" ]; then $bb mkdir -p "/newroot$krt_keep" && $bb mount -o bind /keep "/newroot$krt_keep"; fi
$bb mkdir -p "/newroot$krt_scratch"
$bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 scratch "/newroot$krt_scratch" || { echo "init: cannot mount the scratch share"; $bb reboot -f; }
$bb hostname "\${krt_hostname:-krt-vm}"
echo "init: up, running the job runner"
$bb chroot /newroot /bin/sh "$krt_scratch/guest.sh" "$krt_scratch"
echo "init: job runner ended, powering off"
$bb sync
$bb reboot -f
`;

/** Paths of the boot modules, dependencies first (as `modprobe --show-depends` orders them). */
async function bootModules(version: string): Promise<string[]> {
  const out: string[] = [];
  for (const m of BOOT_MODULES) {
    const r = await run('modprobe', ['--show-depends', '-S', version, m]);
    for (const line of r.stdout.split('\n')) {
      const f = /^insmod (\S+)/.exec(line)?.[1];
      if (f && !out.includes(f)) out.push(f);
    }
  }
  return out;
}

/** Path of the initramfs (an uncompressed newc cpio) for kernel `version`, built on first use. */
export async function initramfs(version: string): Promise<string> {
  const modules = await bootModules(version);
  const busybox = '/bin/busybox';
  if (!fs.existsSync(busybox)) throw new Error('no /bin/busybox: apt install busybox-static');
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify([version, modules, INIT, MODPROBE, fs.statSync(busybox).size]))
    .digest('hex')
    .slice(0, 16);
  const out = path.join(VM_CACHE_DIR, `initramfs-${key}.cpio`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(VM_CACHE_DIR, { recursive: true });
  const stage = fs.mkdtempSync(path.join(VM_CACHE_DIR, 'stage-'));
  try {
    for (const d of ['bin', 'sbin', 'proc', 'sys', 'dev', 'host', 'rw', 'newroot']) fs.mkdirSync(path.join(stage, d));
    fs.copyFileSync(busybox, path.join(stage, 'bin/busybox'));
    fs.chmodSync(path.join(stage, 'bin/busybox'), 0o755);
    fs.symlinkSync('busybox', path.join(stage, 'bin/sh'));
    fs.writeFileSync(path.join(stage, 'init'), INIT, { mode: 0o755 });
    fs.writeFileSync(path.join(stage, 'sbin/modprobe'), MODPROBE, { mode: 0o755 });
    for (const m of modules) {
      fs.mkdirSync(path.join(stage, path.dirname(m)), { recursive: true });
      fs.copyFileSync(m, path.join(stage, m));
    }
    fs.writeFileSync(path.join(stage, 'modules.order'), `${modules.join('\n')}\n`);
    const tmp = `${out}.tmp-${process.pid}`;
    await run('sh', ['-c', 'cd "$0" && find . | cpio -o -H newc -R 0:0 --quiet > "$1"', stage, tmp], { timeout: 0 });
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
  return out;
}
