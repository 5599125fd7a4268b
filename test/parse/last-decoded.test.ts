import t from 'tap';
import { decodeAuditString } from '../../src/parse/audit-string.js';
import { LastDecoded } from '../../src/parse/last-decoded.js';

t.test('the last value is reused only for the same bytes in the same form', async (t) => {
  let decodes = 0;
  const decode = (b: Uint8Array, s: number, e: number): string | null => { decodes++; return decodeAuditString(b, s, e); };
  const plain = (b: Uint8Array, s: number, e: number): string | null => { decodes++; return Buffer.from(b.subarray(s, e)).toString('utf8'); };
  const last = new LastDecoded();
  const a = Buffer.from('x comm="nginx" y');
  const b = Buffer.from('comm="nginx" and "nginy" and 6E67696E78 and "ngin"');
  t.equal(last.get(a, 7, 14, false, decode), 'nginx');
  t.equal(last.get(b, 5, 12, false, decode), 'nginx', 'the same bytes elsewhere, in another buffer');
  t.equal(decodes, 1, 'decoded once');
  t.equal(last.get(b, 17, 24, false, decode), 'nginy', 'same length, other bytes');
  t.equal(last.get(b, 17, 24, true, plain), '"nginy"', 'same bytes, plain form: decoded as such');
  t.equal(last.get(b, 29, 39, false, decode), 'nginx', 'hex');
  t.equal(last.get(b, 44, 50, false, decode), 'ngin', 'shorter');
  t.equal(decodes, 5);
  const long = Buffer.from(`"/${'a'.repeat(LastDecoded.MAX_BYTES)}"`);
  t.equal(last.get(long, 0, long.length, false, decode), `/${'a'.repeat(LastDecoded.MAX_BYTES)}`);
  t.equal(last.get(long, 0, long.length, false, decode), `/${'a'.repeat(LastDecoded.MAX_BYTES)}`, 'a long value is right');
  t.equal(decodes, 7, 'and decoded each time (not held)');
  t.equal(last.get(b, 44, 50, false, decode), 'ngin', 'the last held value is still the short one');
  t.equal(decodes, 7);
});
