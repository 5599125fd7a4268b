import t from 'tap';
import { DEFAULT_PORT, parseListen } from '../../src/cli/run-command.js';
import { UsageError } from '../../src/cli/options.js';

t.test('--listen: IPv4, names, bracketed and bare IPv6 (status.hostIP on an IPv6 node)', async (t) => {
  t.same(parseListen('127.0.0.1:9761'), ['127.0.0.1', 9761]);
  t.same(parseListen('10.0.3.17:9761'), ['10.0.3.17', 9761], 'the DaemonSet\'s $(SECCOMP_AUDITOR_HOST_IP):9761 on an IPv4 node');
  t.same(parseListen('localhost:0'), ['localhost', 0]);
  t.same(parseListen('[::1]:9761'), ['::1', 9761]);
  t.same(parseListen('[fd00:10:96::a]:9761'), ['fd00:10:96::a', 9761]);
  // the downward API gives IPv6 addresses without brackets; the port is after the last colon
  t.same(parseListen('fd00:10:96::a:9761'), ['fd00:10:96::a', 9761]);
  t.same(parseListen('2001:db8::1:9761'), ['2001:db8::1', 9761]);
  t.same(parseListen('2001:db8:::9761'), ['2001:db8::', 9761], 'an address ending in :: keeps its colons');
  t.same(parseListen('::1:9761'), ['::1', 9761]);
  t.same(parseListen(`::ffff:10.0.3.17:${DEFAULT_PORT}`), ['::ffff:10.0.3.17', DEFAULT_PORT], 'an IPv4-mapped address');
});

t.test('--listen: bad values are refused, naming the problem', async (t) => {
  const refused = (value: string, message: RegExp): void => {
    let thrown: unknown = null;
    try {
      parseListen(value);
    } catch (err) {
      thrown = err;
    }
    t.ok(thrown instanceof UsageError, `${value}: a usage error`);
    t.match((thrown as Error | null)?.message, message, value);
  };
  refused('9761', /expected HOST:PORT/);
  refused('127.0.0.1:', /expected HOST:PORT/);
  refused('127.0.0.1:http', /expected HOST:PORT/);
  refused('127.0.0.1:65536', /expected HOST:PORT/);
  refused(':9761', /expected HOST:PORT/);
  // a bare IPv6 address without a port: its last group is not a port
  refused('fd00::9761', /fd00: is not an IPv6 address; expected HOST:PORT, e.g. \[fd00::1\]:9761/);
  refused('[not-an-address]:9761', /not-an-address is not an IPv6 address/);
  // Kubernetes leaves $(NAME) as is when the container has no such variable
  refused('$(SECCOMP_AUDITOR_HOST_IP):9761', /\$\(SECCOMP_AUDITOR_HOST_IP\) was never expanded; define that environment variable .*status\.hostIP/);
});
