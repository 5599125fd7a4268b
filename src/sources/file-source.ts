import { existsSync, fstatSync, read, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname } from 'node:path';
import { ANY_INODE, describeFileError, parseFilePosition, planResume, type FilePosition, type ResumePlan } from './file-position.js';
import type { LineSink } from './kmsg-source.js';

export type FileSourceEventType = 'start' | 'rotated' | 'truncated' | 'waiting' | 'appeared' | 'replaced' | 'error';
export interface FileSourceEvent {
  type: FileSourceEventType;
  detail: string;
}

/**
 * What the source is doing now, for readiness: `following` means a file is open at a known offset,
 * so every line appended from now on will be read (a test or an operator may start writing).
 */
export type FileSourceState = 'starting' | 'following' | 'waiting' | 'retrying' | 'stopped';
export const FILE_SOURCE_STATES: readonly FileSourceState[] = ['starting', 'following', 'waiting', 'retrying', 'stopped'];

export interface FileSourceOptions {
  path: string;
  /** gets `buf[start, end)` per line; `buf` is reused, so copy what must outlive the call */
  sink: LineSink;
  /** `<inode>:<offset>` from the store: resume after the last line it covered; else (or if malformed) only new lines */
  startPosition?: string;
  /**
   * Without a startPosition: read the lines already in the file instead of starting at its end. A
   * malformed saved position still reads only new lines: something was counted from the file before.
   */
  readExisting?: boolean;
  onEvent?: (e: FileSourceEvent) => void;
  /** Safety poll, for changes inotify does not report (network filesystems, a directory that does not exist yet). */
  pollMs?: number;
  /** How long to wait before opening the file again after an error. */
  retryMs?: number;
  /** Read buffer size; it grows for a longer line, up to maxLineBytes, beyond which a line is skipped. */
  bufferBytes?: number;
  maxLineBytes?: number;
}

/** The parts of tail-file 1.4's object that FileSource uses or replaces (all its state is public by design). */
interface Tail {
  filename: string;
  started: string | null;
  starting?: string | null;
  pos: number | 'init';
  fd?: number | 'init' | null;
  ino: number | null;
  reading: boolean;
  readable: boolean;
  watcher?: FSWatcher | null;
  onEndOfFile(): void;
  onLine(...args: unknown[]): void;
  onEndOfFileForTail(): void;
  onLineForTail(...args: unknown[]): void;
  start(filename?: string): void;
  stop(): Promise<unknown>;
  _stop(): void;
  createReader(): void;
  readStuff(): void;
  getLine(): void;
  checkDir(type: string, name: string | null): void;
  checkDirError(err: Error): void;
  onError(err: Error): void;
  setBytePos(pos: number | 'start'): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}
type TailClass = { new (filename: string, options: object): Tail; prototype: Tail };

const Tail = createRequire(import.meta.url)('tail-file') as TailClass;
const tailOwnStop = Tail.prototype._stop;
const NEWLINE = 0x0a;

/**
 * Follows a log file like `tail -F`: through rotation by rename, copytruncate, replacement, and the file
 * or its directory not existing yet.
 *
 * The split with tail-file: tail-file decides WHICH file to read and WHEN. It watches the directory,
 * opens and closes the file, keeps the old file open after a rename until it is read to the end, then
 * switches to the new file from 0 once that has content, starts over when the file shrank, and picks the
 * file up when it appears. It reads through a StringDecoder and hands out a string per line with char
 * (not byte) positions, so its `readStuff` (one read of the open fd) is replaced here: we `fs.read` the
 * fd tail-file opened into one reusable Buffer, deliver byte ranges and keep the byte offset of the last
 * complete line. Also replaced: `startTail` (a non-persistent watcher; a failing `fs.watch`, e.g. a missing
 * directory, would throw out of a callback), `setCharPos` (start offsets are bytes), and `_stop` gets a
 * final synchronous read first, so lines written to a renamed file just before the switch are not lost.
 * A poll timer (pollMs) covers what inotify misses. The timers are unref()ed and the watcher is not
 * persistent: like KmsgSource, a FileSource never keeps the process alive by itself.
 *
 * Shutdown order: stop the timers, read what the file holds up to its end synchronously (a partial last
 * line stays unread; `position` stays before it), end the read session so an in-flight read is ignored,
 * then let tail-file close its watcher and the fd (bounded: a start in progress is not waited for long).
 */
export class FileSource {
  readonly name: string;
  readonly path: string;
  lines = 0;
  /** bytes read past: delivered lines with their newlines, and skipped over-long lines */
  bytes = 0;
  lastError: string | null = null;

  readonly #sink: LineSink;
  readonly #onEvent: ((e: FileSourceEvent) => void) | undefined;
  readonly #pollMs: number;
  readonly #retryMs: number;
  readonly #maxLine: number;
  readonly #readExisting: boolean;
  #buf: Buffer;
  #posIno: string | null;
  #posOffset: number;
  #running = false;
  #tail: Tail | null = null;
  #plan: ResumePlan | null = null;
  #tick: NodeJS.Timeout | null = null;
  #retry: NodeJS.Timeout | null = null;
  #waiting = false;
  #replanned = false;
  #lastErrorEvent = '';
  #badStart: string | null = null;
  // the read session: the file tail-file opened, read by us. #buf[0, #filled) holds file bytes from #base
  // on (a partial line); #gen changes whenever a session ends, so a read still in flight is ignored.
  #gen = 0;
  #fd = -1;
  #ino = ANY_INODE;
  #base = 0;
  #filled = 0;
  #readPos = 0;
  #inFlight = false;
  #delivering = false;
  #skipping = false;
  #prevIno = ANY_INODE;
  #prevEnd = 0;
  #prevPartial = 0;

  constructor(options: FileSourceOptions) {
    if (typeof options.path !== 'string' || options.path === '' || options.path.includes('\0')) {
      throw new RangeError(`file source: path must be a non-empty string, got ${JSON.stringify(options.path)}`);
    }
    let from: FilePosition | null = null;
    try {
      from = options.startPosition ? parseFilePosition(options.startPosition) : null;
    } catch {
      // it comes from the database, not from config: say so and read only new lines, which counts nothing twice
      this.#badStart = `${options.path}: the saved position ${JSON.stringify(options.startPosition)} is not "<inode>:<offset>"; reading only new lines`;
    }
    this.#pollMs = positive('pollMs', options.pollMs ?? 1000);
    this.#retryMs = positive('retryMs', options.retryMs ?? 1000);
    const bufferBytes = positive('bufferBytes', options.bufferBytes ?? 256 * 1024);
    this.#maxLine = Math.max(bufferBytes, positive('maxLineBytes', options.maxLineBytes ?? 4 * 1024 * 1024));
    for (const m of ['_stop', 'readStuff', 'createReader', 'onEndOfFileForTail', 'checkDir', 'tryTail'] as const) {
      if (typeof (Tail.prototype as unknown as Record<string, unknown>)[m] !== 'function') {
        throw new Error(`tail-file: ${m}() is missing; FileSource is written against the internals of tail-file 1.4`);
      }
    }
    this.path = options.path;
    this.name = `file:${options.path}`;
    this.#sink = options.sink;
    this.#onEvent = options.onEvent;
    this.#readExisting = options.readExisting === true && options.startPosition === undefined;
    this.#buf = Buffer.allocUnsafe(bufferBytes);
    this.#posIno = from?.ino ?? null;
    this.#posOffset = from?.offset ?? 0;
  }

  /** `<inode>:<offset>` after the last complete line delivered; read it right after `onBatchEnd()`. */
  get position(): string {
    return this.#posIno === null ? '' : `${this.#posIno}:${this.#posOffset}`;
  }

  get state(): FileSourceState {
    if (!this.#running) return 'stopped';
    // following `<path>.1` while the path is missing is still waiting for the path
    if (this.#waiting) return 'waiting';
    if (this.#fd >= 0) return 'following';
    return this.#retry !== null ? 'retrying' : 'starting';
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#waiting = false;
    this.#lastErrorEvent = '';
    this.#tick = setInterval(this.#onTick, this.#pollMs);
    this.#tick.unref();
    if (this.#badStart !== null) this.#fail(this.#badStart);
    this.#begin();
    this.#badStart = null;
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#tick !== null) clearInterval(this.#tick);
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#tick = this.#retry = null;
    this.#drainSync();
    this.#endSession();
    const tail = this.#tail;
    this.#tail = null;
    this.#plan = null;
    if (tail !== null) await closeTail(tail);
  }

  /** Decides where to start from the position (the saved one at first), then lets tail-file open it. */
  #begin(again = false): void {
    this.#retry = null;
    if (!this.#running) return;
    this.#replanned = again;
    const plan = planResume(this.path, this.#posIno === null ? undefined : { ino: this.#posIno, offset: this.#posOffset }, this.#readExisting);
    this.#posIno = plan.ino ?? ANY_INODE;
    this.#posOffset = plan.offset;
    // a malformed saved position was already reported with what is read instead
    if (plan.event !== null && !(plan.event.type === 'start' && this.#badStart !== null)) this.#report(plan.event);
    this.#plan = plan;
    const tail = this.#newTail(plan.offset);
    this.#tail = tail;
    tail.start(plan.file);
  }

  #newTail(offset: number): Tail {
    const source = this;
    const tail = new Tail(this.path, {
      force: true, // wait for a missing file instead of giving up
      secondary: `${this.path}.1`, // never a `.1.gz`: this reader does not gunzip
      startPos: offset,
      setCharPos(this: Tail, pos: number) { this.setBytePos(pos); },
      startTail(this: Tail, file: string) { source.#startTail(this, file); },
      readStuff(this: Tail) { source.#readStuff(this); },
      _stop(this: Tail) {
        source.#leave(this);
        tailOwnStop.call(this);
      },
    });
    tail.on('ready', (fd) => this.#onReady(tail, fd as number));
    tail.on('restart', (reason) => this.#onRestart(tail, String(reason)));
    tail.on('error', (err) => this.#onError(tail, err as NodeJS.ErrnoException));
    return tail;
  }

  #startTail(tail: Tail, file: string): void {
    if (tail !== this.#tail) return;
    tail.onEndOfFile = tail.onEndOfFileForTail;
    tail.onLine = tail.onLineForTail;
    if (!tail.watcher) {
      const dir = dirname(tail.filename);
      try {
        const watcher = watch(dir, { persistent: false });
        watcher.on('change', (type: string, name: string | null) => tail.checkDir(type, name));
        watcher.on('error', (err: Error) => tail.checkDirError(err));
        tail.watcher = watcher;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ENOENT' || e.code === 'ENOTDIR') this.#setWaiting(e);
        else this.#fail(`${dir}: cannot watch for changes (${e.code ?? e.message}; raise fs.inotify.max_user_watches or max_user_instances); polling every ${this.#pollMs} ms instead`);
      }
    }
    tail.started = file;
    tail.getLine();
  }

  #readStuff(tail: Tail): void {
    if (tail !== this.#tail || !tail.started) return;
    tail.createReader();
    if (tail.fd !== this.#fd || this.#fd < 0 || tail.reading) return;
    tail.reading = true;
    tail.readable = false;
    if (this.#filled === this.#buf.length) this.#makeRoom();
    const gen = this.#gen;
    this.#inFlight = true;
    read(this.#fd, this.#buf, this.#filled, this.#buf.length - this.#filled, this.#readPos, (err, n) => {
      if (gen !== this.#gen) return; // the session ended meanwhile (rotation, stop)
      this.#inFlight = false;
      tail.reading = false;
      if (err !== null) return tail.onError(err);
      if (n === 0) return tail.onEndOfFile(); // tail-file checks for rotation and truncation
      this.#consume(n);
      tail.pos = this.#readPos;
      tail.readStuff();
    });
  }

  /** Delivers the complete lines among the `n` bytes just read into #buf; keeps a partial line at its front. */
  #consume(n: number): void {
    const buf = this.#buf;
    const sink = this.#sink;
    const end = this.#filled + n;
    this.#readPos += n;
    let start = 0;
    let nl = buf.indexOf(NEWLINE, this.#filled); // the partial line before has no newline
    if (nl >= end) nl = -1;
    if (this.#skipping) {
      if (nl < 0) {
        this.#base += end;
        this.bytes += end;
        this.#filled = 0;
        return;
      }
      this.#skipping = false;
      start = nl + 1;
      nl = buf.indexOf(NEWLINE, start);
      if (nl >= end) nl = -1;
    }
    let count = 0;
    const gen = this.#gen;
    this.#delivering = true;
    // a sink that stops the source mid-chunk ends the session (#gen changes): deliver no further
    while (nl >= 0 && gen === this.#gen) {
      try {
        sink.onLine(buf, start, nl);
      } catch (err) {
        this.#fail(`${this.path}: the sink failed on the line at offset ${this.#base + start}: ${(err as Error).message}`);
      }
      count++;
      start = nl + 1;
      nl = buf.indexOf(NEWLINE, start);
      if (nl >= end) nl = -1;
    }
    this.#delivering = false;
    if (start === 0) {
      this.#filled = end;
      return;
    }
    this.#base += start;
    this.bytes += start;
    this.lines += count;
    this.#posOffset = this.#base;
    if (end > start) buf.copy(buf, 0, start, end);
    this.#filled = end - start;
    if (count > 0) sink.onBatchEnd?.();
  }

  /** #buf is full of one partial line: grow it, or skip a line longer than any log record. */
  #makeRoom(): void {
    if (this.#buf.length < this.#maxLine) {
      const bigger = Buffer.allocUnsafe(Math.min(this.#buf.length * 2, this.#maxLine));
      this.#buf.copy(bigger, 0, 0, this.#filled);
      this.#buf = bigger;
      return;
    }
    this.#fail(`${this.path}: the line at offset ${this.#base} is longer than ${this.#maxLine} bytes; skipped`);
    this.#skipping = true;
    this.#base += this.#filled;
    this.bytes += this.#filled;
    this.#filled = 0;
  }

  /** Reads the open file up to its current end, now. */
  #drainSync(): void {
    if (this.#fd < 0 || this.#delivering) return;
    if (this.#inFlight) {
      // an async read still writes into #buf: leave that Buffer to it and ignore its result
      const fresh = Buffer.allocUnsafe(this.#buf.length);
      this.#buf.copy(fresh, 0, 0, this.#filled);
      this.#buf = fresh;
      this.#inFlight = false;
      this.#gen++;
    }
    for (;;) {
      if (this.#filled === this.#buf.length) this.#makeRoom();
      let n: number;
      try {
        n = readSync(this.#fd, this.#buf, this.#filled, this.#buf.length - this.#filled, this.#readPos);
      } catch {
        return; // the same error reaches tail-file's error path, or we are stopping anyway
      }
      if (n === 0) return;
      this.#consume(n);
    }
  }

  #endSession(): void {
    if (this.#fd < 0) return;
    this.#prevIno = this.#ino;
    this.#prevEnd = this.#readPos;
    this.#prevPartial = this.#filled;
    this.#gen++;
    this.#fd = -1;
    this.#filled = 0;
    this.#skipping = false;
    if (this.#inFlight) this.#buf = Buffer.allocUnsafe(this.#buf.length);
    this.#inFlight = false;
  }

  /** tail-file is about to close the fd: after a rename, the writer may still have added lines to it. */
  #leave(tail: Tail): void {
    if (tail !== this.#tail || this.#fd < 0 || tail.fd !== this.#fd) return;
    this.#drainSync();
    this.#endSession();
  }

  /** tail-file opened a file: start a read session at the right offset. */
  #onReady(tail: Tail, fd: number): void {
    if (tail !== this.#tail || tail.fd !== 'init') return;
    let ino = String(tail.ino ?? 0);
    let size = Number.MAX_SAFE_INTEGER;
    try {
      const st = fstatSync(fd, { bigint: true });
      ino = st.ino.toString();
      size = Number(st.size);
    } catch (err) {
      this.#fail(`${tail.started}: fstat failed (${(err as NodeJS.ErrnoException).code ?? String(err)}); trusting the inode from stat`);
    }
    const plan = this.#plan;
    this.#plan = null;
    let offset: number;
    if (ino === this.#posIno) {
      // the file the position is in, under whatever name tail-file opened it: right after the last line
      offset = this.#posOffset;
    } else if (plan !== null && plan.file === tail.started) {
      offset = plan.offset;
      if (plan.ino !== null) {
        // rotated between planning and opening (the new file may even have the old one's inode
        // number back): plan again, which finds the file at `<path>.1`; once, lest stat and fstat disagree
        if (!this.#replanned) return this.#startOver(tail, 0, true);
        offset = 0;
        this.#report({ type: 'replaced', detail: `${tail.started}: replaced (inode ${plan.ino} → ${ino}) as it was opened; reading it from the start` });
      }
    } else if (tail.started !== this.path) {
      // tail-file follows `<path>.1` while the path is missing: only what is still written to it
      offset = size;
      this.#setWaiting(null);
    } else {
      offset = typeof tail.pos === 'number' ? tail.pos : 0; // 0 after a rotation or when the file appeared
    }
    if (offset > size) {
      this.#report({ type: 'truncated', detail: `${tail.started}: is ${size} bytes, shorter than offset ${offset}; reading it from the start` });
      offset = 0;
    }
    if (tail.started === this.path) {
      this.lastError = null;
      if (this.#waiting) {
        this.#waiting = false;
        this.#report({ type: 'appeared', detail: `${this.path}: appeared (inode ${ino}); reading it from offset ${offset}` });
      }
    }
    tail.pos = offset;
    tail.ino = Number(ino);
    this.#gen++;
    this.#fd = fd;
    this.#ino = ino;
    this.#base = this.#readPos = offset;
    this.#filled = 0;
    this.#skipping = false;
    this.#posIno = ino;
    this.#posOffset = offset;
  }

  #onRestart(tail: Tail, reason: string): void {
    if (tail !== this.#tail) return;
    if (reason === 'TRUNCATE') {
      if (this.#posIno === this.#prevIno) this.#posOffset = 0; // what is there now is read from its start
      this.#report({ type: 'truncated', detail: `${this.path}: shrank below offset ${this.#prevEnd} (copytruncate?); reading it again from the start` });
    } else if (reason === 'NEWPRIME' && !this.#waiting) {
      let rotatedIno = '';
      try {
        rotatedIno = statSync(`${this.path}.1`, { bigint: true }).ino.toString();
      } catch { /* no .1: the file was deleted or renamed elsewhere */ }
      const type = rotatedIno === this.#prevIno ? 'rotated' : 'replaced';
      const was = type === 'rotated' ? `renamed to ${this.path}.1` : 'replaced';
      const dropped = this.#prevPartial > 0 ? ` (its last ${this.#prevPartial} bytes had no newline and were dropped)` : '';
      this.#report({ type, detail: `${this.path}: ${was}; finished the old file (inode ${this.#prevIno}) at offset ${this.#prevEnd}${dropped}, reading the new one from the start` });
    }
  }

  #onError(tail: Tail, err: NodeJS.ErrnoException): void {
    if (tail !== this.#tail || !this.#running) return;
    if (err.code === 'ENOENT') {
      // the path: tail-file waits for it (force); `<path>.1` gone before we opened it: tail-file goes on with the path
      if (err.path === undefined || err.path === this.path) this.#setWaiting(err);
      return;
    }
    this.#fail(describeFileError(err.path ?? this.path, err));
    this.#startOver(tail, this.#retryMs, false); // tail-file has closed the file
  }

  /** Drops this tail-file object and plans again from our exact position after `ms`. */
  #startOver(tail: Tail, ms: number, again: boolean): void {
    this.#endSession();
    this.#tail = null;
    this.#plan = null;
    void closeTail(tail);
    this.#retry = setTimeout(() => this.#begin(again), ms);
    this.#retry.unref();
  }

  #setWaiting(err: NodeJS.ErrnoException | null): void {
    const message = err === null
      ? `${this.path}: does not exist; following ${this.path}.1 until it appears`
      : describeFileError(this.path, err);
    if (err !== null || this.lastError === null) this.lastError = message;
    if (this.#waiting) return;
    this.#waiting = true;
    this.#report({ type: 'waiting', detail: message });
  }

  #fail(message: string): void {
    this.lastError = message;
    if (message === this.#lastErrorEvent) return; // a retry loop reports a lasting problem once
    this.#lastErrorEvent = message;
    this.#report({ type: 'error', detail: message });
  }

  #report(e: FileSourceEvent): void {
    try {
      this.#onEvent?.(e);
    } catch { /* an event handler's failure is not the source's */ }
  }

  /** What inotify may miss: appends (reads to the end, where tail-file checks for rotation), a file appearing. */
  readonly #onTick = (): void => {
    const tail = this.#tail;
    if (tail === null) return;
    if (this.#fd >= 0 && tail.fd === this.#fd) {
      if (!tail.reading) {
        tail.readable = true;
        tail.readStuff();
      }
    } else if (this.#waiting && !tail.fd && !tail.started && !tail.starting && existsSync(this.path)) {
      tail.checkDir('rename', basename(this.path));
    }
  };
}

/** tail-file's stop() waits for a start in progress to settle; do not wait for it long. */
async function closeTail(tail: Tail): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 500);
    timer.unref();
  });
  await Promise.race([tail.stop().then(() => undefined, () => undefined), gaveUp]);
  clearTimeout(timer);
  tail.watcher?.close();
  tail._stop();
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`file source: ${name} must be a positive integer, got ${value}`);
  return value;
}
