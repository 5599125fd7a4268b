/**
 * Reading a file in a directory other root processes write too (the kubelet's seccomp directory,
 * a mounted ConfigMap) without trusting what sits at the path: a symlink is not followed (it
 * could point at /dev/zero or a root-only file), a FIFO or device is not opened for reading (a
 * FIFO without a writer blocks a plain read forever), and no more than `maxBytes` is read (a
 * huge file must not become the daemon's memory). What is found instead is said in words fit for
 * a message, never with the file's content.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';

export type FileRead =
  | { kind: 'absent' }
  | { kind: 'file'; bytes: Buffer; dev: number; ino: number }
  /** something that is not a regular file we may read: `what` says which, for a message */
  | { kind: 'other'; what: string };

// O_NONBLOCK: should a FIFO be swapped in between the lstat and the open, the open returns at once
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export function readRegularFile(path: string, maxBytes: number): FileRead {
  let link: Stats;
  try {
    link = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    throw err;
  }
  // decided on lstat first, so a device is never even opened (opening some has effects)
  if (!link.isFile()) return { kind: 'other', what: describe(link) };
  if (link.size > maxBytes) return { kind: 'other', what: `larger than ${maxBytes} bytes` };
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'absent' };
    if (code === 'ELOOP') return { kind: 'other', what: 'a symbolic link' };
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { kind: 'other', what: describe(st) };
    // a file growing while it is read is cut at the cap plus one byte: enough to tell it is too big
    const buffer = Buffer.allocUnsafe(maxBytes + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0;) length += n;
    if (length > maxBytes) return { kind: 'other', what: `larger than ${maxBytes} bytes` };
    return { kind: 'file', bytes: buffer.subarray(0, length), dev: st.dev, ino: st.ino };
  } finally {
    closeSync(fd);
  }
}

function describe(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory, not a regular file';
  if (st.isFIFO()) return 'a FIFO, not a regular file';
  if (st.isSocket()) return 'a socket, not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device, not a regular file';
  return 'not a regular file';
}
