import t from 'tap';
import { join } from 'node:path';
import { unattributedTop } from '../../src/metrics/unattributed-top.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { batch } from '../store/batches.js';

t.test('the groups with the most records, across pages; hostile names sanitised; groups that sanitise alike add up', (t) => {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-unattr-top-'), 'u.db') });
  t.teardown(() => store.close());
  // 4 500 groups (more than two of unattributedTop's pages), counts 1..4500 in an order unrelated to the ids
  const unattributed = [];
  for (let i = 0; i < 4500; i++) {
    const count = ((i * 7919) % 4500) + 1;
    unattributed.push({ comm: `c${count}`, exe: `/bin/c${count}`, reason: 'exited', count, firstSeen: 1, lastSeen: 2 });
  }
  store.commitBatch(batch({ unattributed }));
  const top = unattributedTop(store, 3);
  t.same(top.map((g) => `${g.labels.comm}=${g.value}`).sort(), ['c4498=4498', 'c4499=4499', 'c4500=4500'], 'the three largest, wherever they were stored');

  // two processes whose names differ only in a control character: one series after sanitising
  store.commitBatch(batch({ unattributed: [
    { comm: 'x\nevil', exe: '/tmp/x', reason: 'no-cgroup-identity', count: 10_000, firstSeen: 1, lastSeen: 2 },
    { comm: 'x\revil', exe: '/tmp/x', reason: 'no-cgroup-identity', count: 5_000, firstSeen: 1, lastSeen: 2 },
  ] }));
  const hostile = unattributedTop(store, 2);
  t.same(hostile, [{ labels: { reason: 'no-cgroup-identity', comm: 'x?evil', exe: '/tmp/x' }, value: 15_000 }]);
  t.same(unattributedTop(store, 0), [], 'top 0: nothing');
  t.end();
});
