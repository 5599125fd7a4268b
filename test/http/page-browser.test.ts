/**
 * The built-in page (GET /) in a real headless browser (Debian's chromium driven by
 * playwright-core) against the built daemon fed real audit lines, with its read routes behind the
 * token (--protect-reads): the page asks for the token, lists the pod with its learning status,
 * the sources, violations and unattributed records; a click opens the pod's syscalls, which sort
 * by column; the OCI and SPO downloads are byte for byte what the API answers; a profile file
 * checked against the pod shows the calls it would block, as the diff route says.
 * SECCOMP_AUDITOR_PAGE_SCREENSHOT=PATH.png also saves screenshots of the overview and of the pod
 * (PATH-pod.png): the README's are made so.
 */
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { makeTempDir } from '../helpers/real-kernel.js';
import { recordLine, type FakeContainer } from '../ingest/fake-node.js';
import { ClusterNode } from '../kube/cluster-node.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'p'.repeat(48);
const work = makeTempDir('sa-page-');
const tokenFile = join(work, 'token');
writeFileSync(tokenFile, TOKEN);
const WEB: FakeContainer = { namespace: 'shop', pod: 'web-7d9f8b6c4-x2k4p', podUid: '00000000-0000-0000-0000-0000000000a1', container: 'nginx', id: 'a1'.repeat(32), pid: 5101 };
const GONE = 9_999;
// read 3 times, openat twice, write once; execve refused; a process that had exited
const lines = [
  recordLine(WEB.pid, 0), recordLine(WEB.pid, 0), recordLine(WEB.pid, 0), recordLine(WEB.pid, 257), recordLine(WEB.pid, 257),
  recordLine(WEB.pid, 1), recordLine(WEB.pid, 59, 'errno'), recordLine(GONE, 0),
].join('');
const node = new ClusterNode('node-a', [WEB], lines, tokenFile);
const auth = { authorization: `Bearer ${TOKEN}` };
const POD = `/api/v1/namespaces/shop/pods/${WEB.pod}`;
let browser: Browser;
let page: Page;

t.before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`this test needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`);
  await node.start();
  // the daemon commits in batches: wait until the pod's records are all readable
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await fetch(`${node.url}/api/v1/pods`, { headers: auth });
    const body = await r.json() as { items: Array<{ containers: Array<{ records: number }> }> };
    if (body.items[0]?.containers[0]?.records === 7) break;
    if (Date.now() > deadline) throw new Error(`the daemon did not hold the pod's 7 records within 20 s: ${JSON.stringify(body)}`);
    await sleep(100);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await (await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 900 } })).newPage();
});
t.teardown(async () => {
  await browser?.close();
  await node.stop();
});

t.test('the page is static and open; the data behind it takes the token', async (t) => {
  const html = await fetch(`${node.url}/`);
  t.equal(html.status, 200);
  t.match(html.headers.get('content-type'), /^text\/html/);
  t.match(html.headers.get('content-security-policy'), /default-src 'none'; script-src 'self'/, 'no inline script, no other origin');
  t.notMatch(await html.text(), /https?:\/\//, 'nothing loaded from elsewhere');
  t.equal((await fetch(`${node.url}/page.js`)).status, 200);
  t.equal((await fetch(`${node.url}/api/v1/pods`)).status, 401, 'the read routes still want the token');
});

t.test('a wrong token is refused, the right one opens the overview', async (t) => {
  await page.goto(node.url);
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.fill('#token', 'wrong');
  await page.click('#login-form button');
  await page.locator('#error', { hasText: 'The token was refused.' }).waitFor();
  await page.fill('#token', TOKEN);
  await page.click('#login-form button');
  const podLink = page.locator('#pods a.pod');
  await podLink.waitFor();
  t.equal(await podLink.textContent(), `shop/${WEB.pod}`);
  const podRow = await page.locator('#pods tr').nth(1).locator('td').allTextContents();
  t.same(podRow.slice(1, 5), ['nginx', '7', '4', '1'], 'container, records, distinct syscalls, violations');
  t.match(podRow[5], /s ago|min ago/, 'time since the last new syscall');
  t.match(await page.locator('#sources').textContent(), /following/);
  t.match(await page.locator('#sources').textContent(), /ok/);
  t.match(await page.locator('#violations').textContent(), /execve.*errno/);
  t.match(await page.locator('#unattributed').textContent(), /\/usr\/bin\/app.*exited/);
  const shot = process.env['SECCOMP_AUDITOR_PAGE_SCREENSHOT'];
  if (shot !== undefined) await page.screenshot({ path: shot, fullPage: true });
});

t.test('a pod: its syscalls as the API has them, sortable; its learning status', async (t) => {
  await page.click('#pods a.pod');
  const table = page.locator('table.syscalls[data-container="nginx"]');
  await table.waitFor();
  const api = await (await fetch(`${node.url}${POD}/syscalls`, { headers: auth })).json() as { containers: Array<{ syscalls: Array<{ name: string; count: number }> }> };
  const col = async (i: number) => table.locator(`tr td:nth-child(${i})`).allTextContents();
  t.same((await col(1)).sort(), api.containers[0]!.syscalls.map((s) => s.name).sort(), 'every syscall the API lists');
  await table.locator('th[data-key="count"]').click();
  t.same(await col(4), ['1', '1', '2', '3'], 'sorted by count, ascending');
  await table.locator('th[data-key="count"]').click();
  t.same(await col(4), ['3', '2', '1', '1'], 'a second click: descending');
  await table.locator('th[data-key="name"]').click();
  t.same(await col(1), ['execve', 'openat', 'read', 'write']);
  await page.locator('#learning', { hasText: 'records' }).waitFor();
  t.match(await page.locator('#learning').textContent(), /complete · young .* · 7 records from/);
});

t.test('the download buttons give what the API answers', async (t) => {
  for (const [button, query] of [['#download-oci', ''], ['#download-spo', '?format=spo']] as const) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
    const saved = join(work, download.suggestedFilename());
    await download.saveAs(saved);
    const expected = await (await fetch(`${node.url}${POD}/profile${query}`, { headers: auth })).text();
    t.equal(readFileSync(saved, 'utf8'), expected, `${button}: ${download.suggestedFilename()}`);
  }
});

t.test('checking a profile file against the pod shows what it would block', async (t) => {
  const file = join(work, 'only-read.json');
  const profile = JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
  writeFileSync(file, profile);
  await page.setInputFiles('#check-file', file);
  await page.locator('#would-block').waitFor();
  const diff = await (await fetch(`${node.url}${POD}/profile/diff`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: profile })).json() as { wouldBlock: Array<{ name: string }> };
  t.same((await page.locator('#would-block tr td:nth-child(1)').allTextContents()).sort(), diff.wouldBlock.map((w) => w.name).sort(), 'the diff route\'s wouldBlock');
  t.same(diff.wouldBlock.map((w) => w.name).sort(), ['openat', 'write']);
  t.match(await page.locator('#check-result').textContent(), /only-read\.json: would block 2 call\(s\) this pod made/);
  const shot = process.env['SECCOMP_AUDITOR_PAGE_SCREENSHOT'];
  if (shot !== undefined) await page.screenshot({ path: shot.replace(/\.png$/, '-pod.png'), fullPage: true });
});
