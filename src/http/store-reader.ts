import type { FastifyReply } from 'fastify';
import type { SyscallStore } from '../store/syscall-store.js';
import { requireStore } from './api-errors.js';
import { READ_QUERIES, type ReadArgs, type ReadName, type ReadResult } from './reads/read-queries.js';

/**
 * Where the API's reads run (reads/read-queries.ts, by name): on read threads
 * (ThreadStoreReader), or on the main thread (InlineStoreReader: an in-memory store, tests
 * through `inject`, `--read-workers 0`). Either way an ApiError or StoreError a read throws
 * reaches the route as itself.
 */
export interface StoreReader {
  /** `gone` aborts when the client went away: a read still waiting is dropped, unrun */
  run<N extends ReadName>(name: N, args: ReadArgs<N>, gone?: AbortSignal): Promise<ReadResult<N>>;
  /**
   * The answer as JSON (UTF-8), serialized where it was read. For answers that grow with
   * ?limit= (a 5 000-pod page is 2.5 MB of JSON): from a read thread its bytes move without a
   * copy, where the object would cost the main thread its structured-clone rebuild and then its
   * serialization, about 25 ms for such a page, that /healthz would wait behind, and a string
   * would cost a copy into the main heap and another to encode it for the socket.
   */
  runJson<N extends ReadName>(name: N, args: ReadArgs<N>, gone?: AbortSignal): Promise<Buffer>;
}

/** Runs each read at once, on the calling thread, on the store the daemon has open. */
export class InlineStoreReader implements StoreReader {
  readonly #store: () => SyscallStore | null;

  constructor(store: () => SyscallStore | null) {
    this.#store = store;
  }

  async run<N extends ReadName>(name: N, args: ReadArgs<N>): Promise<ReadResult<N>> {
    const read = READ_QUERIES[name] as (store: SyscallStore, args: ReadArgs<N>) => ReadResult<N>;
    return read(requireStore(this.#store), args);
  }

  async runJson<N extends ReadName>(name: N, args: ReadArgs<N>): Promise<Buffer> {
    return Buffer.from(JSON.stringify(await this.run(name, args)));
  }
}

/**
 * Sends JSON text as it is. The route's response schema still documents it (OpenAPI) but does
 * not serialize it: the reads build exactly the schema's properties (a test holds every list
 * answer to its schema).
 */
export function sendJson(reply: FastifyReply, json: Buffer): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}

/** The read a client has abandoned: nobody is left to answer. */
export class ReadAbandoned extends Error {
  override readonly name = 'ReadAbandoned';
  constructor() {
    super('the client went away before its read ran');
  }
}

/**
 * Aborts when the client goes away before its answer is written (the socket closed or reset),
 * so a read that has not started yet is never run. A response that finished closes too: that
 * is not an abandonment.
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  if (res.destroyed || res.socket?.destroyed === true) controller.abort();
  else res.once('close', () => { if (!res.writableFinished) controller.abort(); });
  return controller.signal;
}
