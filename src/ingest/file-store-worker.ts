/**
 * The thread that commits `ingest`'s batches: the attributing thread (file-ingest-worker.ts)
 * sends them over a channel of their own and waits for each acknowledgement before it gets too
 * far ahead. On a thread of its own the store's garbage (each batch as it arrives, the
 * statements' arguments) lives in a young generation of STORE_YOUNG_GENERATION_MB; on the main
 * thread V8 grew it to 48 MB for ~5 MB of live data, a sixth of the 30-day ingest's peak RSS.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { SyscallStore } from '../store/syscall-store.js';
import type { FileStoreMessage, StoreAck, StorePacket } from './file-ingest-protocol.js';

const { path, port } = workerData as { path: string; port: MessagePort };
const tell = (m: FileStoreMessage): void => parentPort!.postMessage(m);

let store: SyscallStore | null;
try {
  store = SyscallStore.open({ path });
} catch (err) {
  store = null;
  tell({ type: 'failed', message: (err as Error).message });
}

port.on('message', (m: StorePacket) => {
  // after a failure nothing more is committed: the batches after it would leave a gap
  if (store === null) return;
  if (m.type === 'end') {
    store.close();
    store = null;
    port.close();
    tell({ type: 'closed' });
    return;
  }
  try {
    store.commitBatch(m.batch);
  } catch (err) {
    // the batch was rolled back; what was committed before it stays
    store.close();
    store = null;
    tell({ type: 'failed', message: (err as Error).message });
    return;
  }
  port.postMessage({ type: 'committed' } satisfies StoreAck);
});
