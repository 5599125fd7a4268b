/**
 * SyscallStore.openReadOnly, the read threads' connection: it never creates, migrates or writes
 * a database, and it reads while the daemon's connection commits (WAL). Real SQLite files.
 */
import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../../src/store/store-error.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { batch, containerKey, syscall, workload } from './batches.js';

const pod = (n: number) => batch({
  workloads: [workload(containerKey(n), { namespace: 'shop', pod: `web-${n}`, container: 'nginx' })],
  syscalls: [syscall(containerKey(n), 0)],
});

t.test('a missing file is an error and is not created; a file that is not ours is refused', async (t) => {
  const dir = makeTempDir('sa-read-only-');
  const missing = join(dir, 'none.db');
  t.throws(() => SyscallStore.openReadOnly({ path: missing }), StoreError);
  t.notOk(existsSync(missing), 'nothing created');
  const text = join(dir, 'text.db');
  writeFileSync(text, 'not a database, but long enough to have a header of sixteen bytes and more\n'.repeat(100));
  t.throws(() => SyscallStore.openReadOnly({ path: text }), { code: 'SA_DB_CORRUPT' });
});

t.test('reads what the writer committed, while it commits; cannot write', async (t) => {
  const path = join(makeTempDir('sa-read-only-'), 'api.db');
  const writer = SyscallStore.open({ path });
  t.teardown(() => writer.close());
  writer.commitBatch(pod(1));
  const reader = SyscallStore.openReadOnly({ path });
  t.teardown(() => reader.close());
  t.equal(reader.podPage({ limit: 10 }).items.length, 1);
  // a snapshot held open on the reader does not block the writer's commit
  const seen = reader.readSnapshot(() => {
    const before = reader.podPage({ limit: 10 }).items.length;
    writer.commitBatch(pod(2));
    return [before, reader.podPage({ limit: 10 }).items.length];
  });
  t.same(seen, [1, 1], 'the snapshot stays as it was');
  t.equal(reader.podPage({ limit: 10 }).items.length, 2, 'the next read sees the commit');
  t.throws(() => reader.deletePod('shop', 'web-1'), { code: 'SA_DB_READONLY' }, 'a write through it fails');
  t.equal(writer.podPage({ limit: 10 }).items.length, 2, 'and changed nothing');
});
