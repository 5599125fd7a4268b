import t from 'tap';
import { ContainerNameSources } from '../../src/attribute/container-names.js';

t.test('the first source that knows a container names it', async (t) => {
  const calls: string[] = [];
  const kubelet = { lookupOrRescan: (id: string) => { calls.push(`kubelet:${id}`); return id === 'a' ? { namespace: 'n', pod: 'p', podUid: 'u', container: 'c' } : null; } };
  const api = { lookupOrRescan: (id: string) => { calls.push(`api:${id}`); return id === 'b' ? { namespace: 'n2', pod: 'p2', podUid: 'u2', container: 'c2' } : null; } };
  const names = new ContainerNameSources([kubelet, api]);
  t.match(names.lookupOrRescan('a'), { pod: 'p' });
  t.match(names.lookupOrRescan('b'), { pod: 'p2' });
  t.equal(names.lookupOrRescan('z'), null);
  t.same(calls, ['kubelet:a', 'kubelet:b', 'api:b', 'kubelet:z', 'api:z'], 'the API is asked only when the kubelet\'s files do not know');
});
