import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openDatabase } from '../../src/store/open-database.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { AUDIT_ARCH_X86_64, batch, containerKey, syscall, workload } from './batches.js';
import { tempDir } from './scratch-mounts.js';

const WEB = containerKey(1);

t.test('a database of schema version 1 migrates in place: its data stays, owners are null until known', (t) => {
  const path = join(tempDir(t), 'auditor.db');
  // the database as the previous release left it: schema 1 and rows written by that schema's columns
  const old = openDatabase({ path, migrations: MIGRATIONS.slice(0, 1) });
  t.equal(old.pragma('user_version', { simple: true }), 1);
  old.prepare(`INSERT INTO workloads (key, kind, container_id, namespace, pod, container, node, first_seen, last_seen)
    VALUES (?, 'container', ?, 'shop', 'web-7d9f8b6c4-x2k4p', 'nginx', 'node-1', 1000, 2000)`).run(WEB, WEB.slice(10));
  old.prepare(`INSERT INTO syscalls (workload_id, audit_arch, syscall_nr, action, count, first_seen, last_seen, comm, exe)
    VALUES ((SELECT id FROM workloads WHERE key = ?), ?, 0, 'log', 7, 1000, 2000, 'nginx', '/usr/sbin/nginx')`).run(WEB, AUDIT_ARCH_X86_64);
  old.prepare(`INSERT INTO source_positions (source, position, updated_at) VALUES ('kmsg', 'boot:41', 2000)`).run();
  old.close();

  const store = SyscallStore.open({ path });
  t.teardown(() => store.close());
  const check = new Database(path, { readonly: true });
  t.teardown(() => check.close());
  t.equal(check.pragma('user_version', { simple: true }), MIGRATIONS.length, 'brought to the current version');
  t.same((check.pragma('table_info(workloads)') as { name: string }[]).map((c) => c.name).slice(-2), ['owner_kind', 'owner_name']);
  t.same(check.pragma('integrity_check', { simple: true }), 'ok');

  t.match(store.listWorkloads(), [{ key: WEB, pod: 'web-7d9f8b6c4-x2k4p', container: 'nginx', ownerKind: null, ownerName: null, syscalls: 1, records: 7 }]);
  t.equal(store.position('kmsg'), 'boot:41', 'positions kept: the daemon resumes where the old one stopped');

  // the owner arrives with a later batch; counts go on from what the old schema held
  store.commitBatch(batch({ workloads: [workload(WEB, { ownerKind: 'Deployment', ownerName: 'web' })], syscalls: [syscall(WEB, 0, { count: 3 })] }));
  t.match(store.listWorkloads(), [{ ownerKind: 'Deployment', ownerName: 'web', records: 10 }]);
  // a batch from a pipeline without the API (owner unknown) does not forget it
  store.commitBatch(batch({ workloads: [workload(WEB, { ownerKind: null, ownerName: null })] }));
  store.commitBatch(batch({ workloads: [workload(WEB)] }));
  t.match(store.listWorkloads(), [{ ownerKind: 'Deployment', ownerName: 'web' }], 'a known owner is never replaced by an unknown one');
  // a kind without a name is no owner
  store.commitBatch(batch({ workloads: [workload(WEB, { ownerKind: 'StatefulSet', ownerName: null })] }));
  t.match(store.listWorkloads(), [{ ownerKind: 'Deployment', ownerName: 'web' }]);
  // kind and name change together
  store.commitBatch(batch({ workloads: [workload(WEB, { ownerKind: 'ReplicaSet', ownerName: 'web-7d9f8b6c4' })] }));
  t.match(store.listWorkloads(), [{ ownerKind: 'ReplicaSet', ownerName: 'web-7d9f8b6c4' }]);
  t.end();
});

t.test('a database already at the current version is opened as it is', (t) => {
  const path = join(tempDir(t), 'auditor.db');
  const first = SyscallStore.open({ path });
  first.commitBatch(batch({ workloads: [workload(WEB, { namespace: 'shop', pod: 'db-0', ownerKind: 'StatefulSet', ownerName: 'db' })] }));
  first.close();
  const again = SyscallStore.open({ path });
  t.teardown(() => again.close());
  t.match(again.listWorkloads(), [{ ownerKind: 'StatefulSet', ownerName: 'db' }]);
  t.end();
});
