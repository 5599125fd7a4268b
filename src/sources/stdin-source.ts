/** Where stdin's bytes go: a parser that splits lines itself (RecordPipeline), across chunks. */
export interface ChunkSink {
  push(chunk: Buffer): void;
  /** the input is over: a last line without a newline is still a line */
  end(): void;
  onBatchEnd?(): void;
}

/**
 * Standard input (`--source -`), for piping `journalctl -f` or a log by hand. Chunks go to the
 * pipeline's stream parser as they come: it keeps a line that spans chunks, and bounds one that
 * never ends.
 */
export class StdinSource {
  readonly name = 'stdin';
  readonly #sink: ChunkSink;
  readonly #stdin: NodeJS.ReadableStream;
  lastError: string | null = null;

  constructor(options: { sink: ChunkSink; stdin: NodeJS.ReadableStream }) {
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
    this.#sink.end();
    this.#sink.onBatchEnd?.();
  }

  readonly #onData = (data: Buffer | string): void => {
    this.#sink.push(typeof data === 'string' ? Buffer.from(data) : data);
    this.#sink.onBatchEnd?.();
  };
}
