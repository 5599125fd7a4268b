import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { batch, containerKey, syscall, workload } from './batches.js';

/**
 * A real seccomp-auditor database of `pods` pods with 40 syscalls each, checkpointed into the
 * main file and closed: several MB, far more than SQLite's 2 MB page cache, so a connection open
 * on it reads most pages from the file, where corruptMiddle puts its garbage.
 */
export function fillDatabase(path: string, pods = 2000, now = Date.now()): void {
  const store = SyscallStore.open({ path, clock: () => now });
  try {
    for (let from = 0; from < pods; from += 500) {
      const keys = Array.from({ length: Math.min(500, pods - from) }, (_, i) => containerKey(from + i + 1));
      store.commitBatch(batch({
        workloads: keys.map((k, i) => workload(k, { namespace: 'shop', pod: `web-${from + i}`, podUid: `uid-${from + i}`, container: 'nginx', firstSeen: now, lastSeen: now })),
        syscalls: keys.flatMap((k) => Array.from({ length: 40 }, (_, nr) => syscall(k, nr, { firstSeen: now, lastSeen: now, exe: `/usr/sbin/nginx-${'x'.repeat(60)}` }))),
        lost: [{ source: 'test', reason: 'kmsg_overwritten', count: 3 }],
        positions: [{ source: 'test', position: String(from) }],
      }));
    }
  } finally {
    store.close();
  }
}

/**
 * Overwrites the middle of the file (from 20 % to 80 % of its pages) with random bytes, leaving
 * the header and the schema's first pages intact: SQLite opens it and answers until a statement
 * reaches a damaged page, as after a bad disk block or a stray write. Then another connection
 * commits a write that changes nothing (page 1 only): a connection already open (better-sqlite3's
 * page cache is 16 MB, more than the file) drops its cached pages and reads the damaged ones, as
 * it would after any other process's commit.
 */
export function corruptMiddle(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const pageSize = 4096;
    const pages = Math.floor(size / pageSize);
    for (let p = Math.floor(pages * 0.2); p < Math.floor(pages * 0.8); p++) writeSync(fd, randomBytes(pageSize), 0, pageSize, p * pageSize);
  } finally {
    closeSync(fd);
  }
  const other = new Database(path);
  try {
    other.pragma(`user_version = ${other.pragma('user_version', { simple: true }) as number}`);
  } finally {
    other.close();
  }
}
