/**
 * Issue 13 item 7: a partly damaged database used to open (the header and schema pages were
 * whole), so /readyz said 200 until the first commit or read reached a bad page. The open now
 * runs quick_check and refuses it, naming the file and the fix, without writing to it.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/open-database.js';
import { StoreError } from '../../src/store/store-error.js';
import { corruptMiddle, fillDatabase } from './damaged-database.js';
import { tempDir } from './scratch-mounts.js';

t.test('damaged pages in the middle of a database are refused at open as SA_DB_CORRUPT, the file untouched', (t) => {
  const path = join(tempDir(t), 'auditor.db');
  fillDatabase(path, 1000);
  corruptMiddle(path);
  const before = readFileSync(path);
  let err: unknown;
  try {
    openDatabase({ path }).close();
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof StoreError, `a StoreError, got ${String(err)}`);
  t.equal((err as StoreError).code, 'SA_DB_CORRUPT');
  t.match((err as StoreError).message, new RegExp(`^${path} is corrupt \\(quick_check: .+\\): move it aside and restart`));
  t.notMatch((err as StoreError).message, /\n/, 'one line');
  t.ok(readFileSync(path).equals(before), 'not modified (not even switched to WAL)');
  t.end();
});

t.test('a whole database passes the check and opens', (t) => {
  const path = join(tempDir(t), 'auditor.db');
  fillDatabase(path, 100);
  const db = openDatabase({ path });
  t.equal(db.pragma('quick_check', { simple: true }), 'ok');
  db.close();
  t.end();
});
