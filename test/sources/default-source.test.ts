import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseDefaultSource } from '../../src/sources/default-source.js';
import { makeTempDir } from '../helpers/real-kernel.js';

function procWith(comms: Record<number, string>): string {
  const root = makeTempDir('sa-proc-');
  for (const [pid, comm] of Object.entries(comms)) {
    mkdirSync(join(root, pid));
    writeFileSync(join(root, pid, 'comm'), `${comm}\n`);
  }
  return root;
}

t.test('auditd running: its log file, from its config', async (t) => {
  const conf = join(makeTempDir('sa-conf-'), 'auditd.conf');
  writeFileSync(conf, '# comment\nlog_file = /srv/audit/audit.log\nlog_format = ENRICHED\n');
  const choice = chooseDefaultSource({ procRoot: procWith({ 1: 'init', 812: 'auditd' }), auditdConf: conf });
  t.same(choice.spec, 'file:/srv/audit/audit.log');
  t.match(choice.why, /auditd runs \(pid 812\)/);
  t.equal(chooseDefaultSource({ procRoot: procWith({ 9: 'auditd' }), auditdConf: '/nonexistent' }).spec, 'file:/var/log/audit/audit.log', 'auditd\'s default log');
});

t.test('no auditd: kmsg when there is one, else nothing', async (t) => {
  const dir = makeTempDir('sa-kmsg-');
  writeFileSync(join(dir, 'kmsg'), '');
  t.equal(chooseDefaultSource({ procRoot: procWith({ 1: 'init' }), kmsg: join(dir, 'kmsg') }).spec, 'kmsg');
  const none = chooseDefaultSource({ procRoot: procWith({ 1: 'init' }), kmsg: join(dir, 'missing') });
  t.equal(none.spec, 'none');
  t.match(none.why, /there is no .*missing; serving only what the database holds/);
});
