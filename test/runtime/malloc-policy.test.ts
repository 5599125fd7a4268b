import t from 'tap';
import { keepLargeAllocationsMapped } from '../../src/runtime/malloc-policy.js';

t.test('the malloc policy applies on glibc (this machine\'s C library), and says so', async (t) => {
  const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;
  t.ok(glibc, `glibc ${glibc}`);
  t.equal(keepLargeAllocationsMapped(), true);
});
