// A writer in its own process, for concurrent-access.test.ts:
//   node --import tsx store-writer.ts DB KEYS BATCHES|forever
// Resumes from its stored position; batch i adds 1 to each of KEYS syscall rows of one workload
// and moves the position to i, so in any consistent state every count equals the position.
import { SyscallStore } from '../../src/store/syscall-store.js';
import { WRITER_SOURCE, WRITER_WORKLOAD, batch, syscall, workload } from './batches.js';

const [path, keysArg, batchesArg] = process.argv.slice(2);
const store = SyscallStore.open({ path: path! });
const keys = Number(keysArg);
const start = Number(store.position(WRITER_SOURCE) ?? 0);
const end = batchesArg === 'forever' ? Infinity : start + Number(batchesArg);
for (let i = start + 1; i <= end; i++) {
  store.commitBatch(batch({
    workloads: [workload(WRITER_WORKLOAD, { lastSeen: i })],
    syscalls: Array.from({ length: keys }, (_, n) => syscall(WRITER_WORKLOAD, n, { firstSeen: i, lastSeen: i })),
    positions: [{ source: WRITER_SOURCE, position: String(i) }],
  }));
  if (i === start + 1) process.stdout.write(`started ${i}\n`);
}
store.close();
process.stdout.write(`done ${end}\n`);
