/** What a CLI command sees of the process: streams are injectable so commands run in tests. */
export interface CommandIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text (a promise where it is made from what the program declares, like run's API). */
  help(): string | Promise<string>;
  /** Returns the exit code. Usage errors throw UsageError. */
  run(argv: string[], io: CommandIo): Promise<number>;
}
