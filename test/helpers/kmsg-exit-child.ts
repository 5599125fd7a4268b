/**
 * Child process for the kmsg-reader exit test: reads /dev/kmsg like the daemon will, then ends in the way
 * argv[2] names. A reader that left a blocking read in the libuv pool would keep it alive until the
 * kernel's next record.
 */
import { KmsgReader } from '../../src/sources/kmsg-reader.js';

const mode = process.argv[2] ?? 'close-exit';
const reader = new KmsgReader().open();
const records = reader.drain(() => {});
if (mode !== 'open-exit') reader.close();
process.stdout.write(`drained ${records}\n`);
// 'natural': nothing is left on the event loop, so the process ends by itself
if (mode !== 'natural') process.exit(0);
