import { PassThrough } from 'node:stream';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { CommandIo } from '../../src/cli/command.js';
import { REPO_ROOT } from './paths.js';

/** Runs a CLI command in-process with in-memory streams. */
export async function runCli(argv: string[], stdin: string | Buffer = '', env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const input = new PassThrough();
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  input.end(stdin);
  const io: CommandIo = { stdin: input, stdout: out, stderr: err, env, isTTY: false };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(chunks.out).toString(), stderr: Buffer.concat(chunks.err).toString() };
}

/** The built executable, built first when missing or older than any source it came from. */
export function builtCli(): string {
  const cli = join(REPO_ROOT, 'dist', 'cli.js');
  if (!existsSync(cli) || statSync(cli).mtimeMs < newestSource(join(REPO_ROOT, 'src'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
  return cli;
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Runs the built executable as a process, as a user would. */
export function runBuiltCli(argv: string[], input?: string | Buffer): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [builtCli(), ...argv], { input, timeout: 60_000, maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
