/** Prints what probeAuditChannel finds from this process's namespaces and privileges (one JSON line). */
import { probeAuditChannel } from '../../src/sources/audit-probe.js';

process.stdout.write(`${JSON.stringify(probeAuditChannel({ timeoutMs: 700 }))}\n`);
