import { statSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

const CHUNK_BYTES = 1 << 20;

/**
 * The bytes of a file copied from a node (or of stdin for `-`), gunzipped when it is gzip: told
 * by its magic bytes rather than its name, since rotated logs come as `.gz`, `.1.gz` or renamed.
 * A chunk is valid until the next one is asked for (a plain file's buffers are reused).
 */
export async function* inputChunks(path: string, stdin: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  if (path === '-') {
    yield* gunzipIfNeeded(stdin);
    return;
  }
  const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new InputError(path, err);
  });
  let st: Stats;
  try {
    st = await handle.stat();
  } catch (err) {
    await handle.close();
    throw new InputError(path, err as NodeJS.ErrnoException);
  }
  if (isStream(st)) {
    // a pipe (`ingest <(ssh node cat audit.log)`, a FIFO) or a device: read in order as it
    // comes, as stdin is; its bytes cannot be read at an offset
    yield* streamChunks(path, handle);
    return;
  }
  // a directory gets here too: its first read fails with EISDIR, which says what to do
  const head = Buffer.alloc(2);
  let bytesRead: number;
  try {
    ({ bytesRead } = await handle.read(head, 0, 2, 0));
  } catch (err) {
    await handle.close();
    throw new InputError(path, err as NodeJS.ErrnoException);
  }
  if (bytesRead < 2 || head[0] !== 0x1f || head[1] !== 0x8b) {
    yield* plainChunks(path, handle);
    return;
  }
  const stream = handle.createReadStream({ highWaterMark: CHUNK_BYTES, start: 0, autoClose: true });
  try {
    yield* stream.pipe(createGunzip({ chunkSize: CHUNK_BYTES })) as AsyncIterable<Buffer>;
  } catch (err) {
    throw new InputError(path, err as NodeJS.ErrnoException);
  } finally {
    stream.destroy();
  }
}

/**
 * A plain file's chunks, read into two buffers taken in turn (the next read runs while the
 * caller has the last chunk): a stream's fresh megabyte per chunk cost its page faults and its
 * collection, a tenth of the parse of a small node's log. So a chunk is only valid until the
 * next one is asked for.
 */
async function* plainChunks(path: string, handle: FileHandle): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafeSlow(CHUNK_BYTES), Buffer.allocUnsafeSlow(CHUNK_BYTES)];
  let turn = 0;
  try {
    let next = handle.read(buffers[turn]!, 0, CHUNK_BYTES, null);
    for (;;) {
      const { bytesRead, buffer } = await next;
      if (bytesRead === 0) return;
      turn ^= 1;
      next = handle.read(buffers[turn]!, 0, CHUNK_BYTES, null);
      // a rejection of the read ahead is seen when it is awaited, not as unhandled meanwhile
      next.catch(() => {});
      yield buffer.subarray(0, bytesRead);
    }
  } catch (err) {
    throw new InputError(path, err as NodeJS.ErrnoException);
  } finally {
    await handle.close();
  }
}

async function* streamChunks(path: string, handle: FileHandle): AsyncGenerator<Buffer> {
  const stream = handle.createReadStream({ highWaterMark: CHUNK_BYTES, autoClose: true });
  try {
    yield* gunzipIfNeeded(stream);
  } catch (err) {
    throw new InputError(path, err as NodeJS.ErrnoException);
  } finally {
    stream.destroy();
  }
}

/**
 * Whether an input may still be written while it is read: stdin (`-`) and anything that is not
 * a regular file (a pipe, a FIFO). Its records may be of now, so the pids they name are checked
 * against /proc again as the daemon checks them; a regular file is the past.
 */
export function mayBeLive(path: string): boolean {
  if (path === '-') return true;
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st !== undefined && isStream(st);
  } catch {
    // unreadable: the read reports it
    return false;
  }
}

/** Neither a regular file nor a directory: bytes that come in order, once. */
function isStream(st: Stats): boolean {
  return !st.isFile() && !st.isDirectory();
}

async function* gunzipIfNeeded(input: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  // one iterator for the whole stream: leaving a for-await loop early would destroy stdin
  const it = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const head = await it.next();
  if (head.done) return;
  const first = toBuffer(head.value);
  const rest = { [Symbol.asyncIterator]: () => it };
  if (first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) {
    const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
    const feed = (async () => {
      gunzip.write(first);
      for await (const chunk of rest) {
        if (!gunzip.write(toBuffer(chunk))) await new Promise((resolve) => gunzip.once('drain', resolve));
      }
      gunzip.end();
    })();
    feed.catch((err: Error) => gunzip.destroy(err));
    yield* gunzip as AsyncIterable<Buffer>;
    await feed;
    return;
  }
  yield first;
  for await (const chunk of rest) yield toBuffer(chunk);
}

function toBuffer(chunk: Buffer | string): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

/** A file that cannot be read, with what to do about it. */
export class InputError extends Error {
  constructor(readonly path: string, cause: NodeJS.ErrnoException) {
    super(describe(path, cause));
  }
}

function describe(path: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': return `${path}: no such file; check the path`;
    case 'EACCES':
    case 'EPERM': return `${path}: permission denied; run as a user that can read it (audit logs are root-only)`;
    case 'EISDIR': return `${path}: is a directory; name the log files inside it`;
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR': return `${path}: gzip data is corrupt or truncated (${err.message}); re-copy the file`;
    default: return `${path}: cannot read (${err.code ?? err.message})`;
  }
}
