import type { LineSink } from './kmsg-source.js';

/** Lines from standard input (`--source -`), for piping `journalctl -f` or a log by hand. */
export class StdinSource {
  readonly name = 'stdin';
  readonly #sink: LineSink;
  readonly #stdin: NodeJS.ReadableStream;
  #carry: Buffer | null = null;
  lastError: string | null = null;

  constructor(options: { sink: LineSink; stdin: NodeJS.ReadableStream }) {
    this.#sink = options.sink;
    this.#stdin = options.stdin;
  }

  start(): void {
    this.#stdin.on('data', this.#onData);
    this.#stdin.on('error', (err: Error) => { this.lastError = `stdin: ${err.message}`; });
  }

  stop(): void {
    this.#stdin.off('data', this.#onData);
    // an open stdin keeps the process alive after the daemon stopped
    (this.#stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    const rest = this.#carry;
    this.#carry = null;
    if (rest !== null && rest.length > 0) this.#sink.onLine(rest, 0, rest.length);
    this.#sink.onBatchEnd?.();
  }

  readonly #onData = (data: Buffer | string): void => {
    let chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.#carry !== null) {
      chunk = Buffer.concat([this.#carry, chunk]);
      this.#carry = null;
    }
    let pos = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, pos)) {
      this.#sink.onLine(chunk, pos, nl);
      pos = nl + 1;
    }
    if (pos < chunk.length) this.#carry = Buffer.from(chunk.subarray(pos));
    this.#sink.onBatchEnd?.();
  };
}
