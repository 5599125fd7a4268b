/**
 * A read thread: runs the API's reads (reads/read-queries.ts) on a read-only connection of its
 * own, so that a heavy page or profile never holds the main thread, where health, readiness,
 * ingest and commits run. SQLite in WAL mode lets this connection read while the daemon's
 * commits; one read at a time (better-sqlite3 is synchronous), in the order the main thread sends.
 *
 * The connection is opened at the first read and follows the daemon's: a read names the path
 * and the generation of the database the daemon has open, and a new generation (the file was
 * deleted or replaced and the daemon opened what is there now) closes ours and opens that one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fileIdentity } from '../store/file-identity.js';
import { StoreError } from '../store/store-error.js';
import { SyscallStore } from '../store/syscall-store.js';
import type { ReadQueryTable } from './reads/read-queries.js';
import { errorToWire, type ReadReply, type ReadRequest, type ReadThreadData, type ToReadThread } from './store-reader-protocol.js';

const data = workerData as ReadThreadData;
const { READ_QUERIES: queries } = await import(data.queries) as { READ_QUERIES: ReadQueryTable };
let open: { generation: number; store: SyscallStore } | null = null;

function storeFor(m: ReadRequest): SyscallStore {
  if (open !== null && open.generation === m.generation) return open.store;
  release();
  // a failed open is not kept: the next read tries again
  const store = SyscallStore.openReadOnly({ path: m.path, busyTimeoutMs: data.busyTimeoutMs });
  // the path named the daemon's file when the daemon opened it; if it names another now (replaced
  // since, and the daemon has not noticed yet: it looks once a second), that one is not to be read
  const now = fileIdentity(m.path);
  if (m.file !== null && (now === null || now.dev !== m.file.dev || now.ino !== m.file.ino)) {
    store.close();
    throw new StoreError('SA_DB_IO', m.path, `${m.path} is no longer the database the daemon has open (deleted or replaced): the daemon reopens what is there within a second; retry then`);
  }
  open = { generation: m.generation, store };
  return store;
}

function release(): void {
  open?.store.close();
  open = null;
}

const post = (reply: ReadReply, transfer?: ArrayBuffer[]): void => parentPort!.postMessage(reply, transfer);

parentPort!.on('message', (m: ToReadThread) => {
  if (m.type === 'release') return release();
  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  try {
    const query = queries[m.name];
    if (query === undefined) throw new Error(`no read named ${m.name}`);
    const answer = query(storeFor(m), m.args as never);
    // JSON as UTF-8 bytes whose buffer moves to the main thread: a 5 000-pod page (2.5 MB) is
    // neither copied into the main heap as a string nor encoded there again for the socket
    const value = m.json ? Buffer.from(JSON.stringify(answer)) : answer;
    const own = value instanceof Buffer && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength;
    try {
      post({ id: m.id, ok: true, value, seconds: seconds() }, own ? [value.buffer as ArrayBuffer] : undefined);
    } catch (err) {
      // an answer that cannot be cloned (a function, a class instance with private state) is a bug in the read
      post({ id: m.id, ok: false, error: errorToWire(err), seconds: seconds() });
    }
  } catch (err) {
    post({ id: m.id, ok: false, error: errorToWire(err), seconds: seconds() });
  }
});
