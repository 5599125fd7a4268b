/**
 * Records every kernel record from the moment it starts until SIGTERM, in its own process at a
 * raised priority, so the test's ground truth does not depend on the test runner's event loop
 * keeping up with the kernel's small ring buffer. Prints `ready`, then on SIGTERM one JSON line:
 * {records, lost}.
 */
import { setPriority } from 'node:os';
import { KmsgReader } from '../../../src/sources/kmsg-reader.js';

try {
  setPriority(-15);
} catch {
  // not allowed: the loss count says whether it mattered
}
const reader = new KmsgReader().open();
reader.skipToEnd();
const records: string[] = [];
const drain = (): number => reader.drain((buf, start, end) => { records.push(buf.toString('utf8', start, end)); });
const timer = setInterval(drain, 2);
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  clearInterval(timer);
  // what the kernel still prints after the workload ended arrives within moments
  let quietSince = Date.now();
  const finish = setInterval(() => {
    if (drain() > 0) quietSince = Date.now();
    if (Date.now() - quietSince < 400) return;
    clearInterval(finish);
    process.stdout.write(`${JSON.stringify({ records, lost: reader.lostRecords })}\n`, () => process.exit(0));
  }, 5);
});
