import { setTimeout as sleep } from 'node:timers/promises';

interface ReadySource { name: string; ok: boolean; error: string | null; state?: string; position?: string }

/**
 * Waits until the daemon at `base` says in /readyz that `source` (e.g. `file:/tmp/x/audit.log`) is
 * following its file: opened at a known offset, so every line appended from now on is read. A
 * fixed sleep instead lost the first lines on a loaded machine (the daemon, starting at the
 * file's end, opened it after the test had begun to write). Returns its read position.
 */
export async function sourceFollowing(base: string, source: string, ms = 60_000): Promise<string> {
  const deadline = Date.now() + ms;
  let seen: unknown = 'no answer';
  while (Date.now() < deadline) {
    try {
      const body = await (await fetch(`${base}/readyz`)).json() as { sources: ReadySource[] };
      const s = body.sources.find((x) => x.name === source);
      seen = s ?? body;
      if (s?.state === 'following') return s.position!;
    } catch (err) {
      seen = (err as Error).message;
    }
    await sleep(20);
  }
  throw new Error(`${source} was not following within ${ms} ms; /readyz said ${JSON.stringify(seen)}`);
}
