import { runDoctorChecks } from '../doctor/doctor-checks.js';
import { exitCodeOf, renderJson, renderText } from '../doctor/doctor-report.js';
import type { Command, CommandIo } from './command.js';
import { formatOptions, parseCommandLine, UsageError, type OptionTable } from './options.js';
import { OPTIONS as RUN_OPTIONS } from './run-command.js';
import { parseSourceSpec, unknownSourceMessage } from '../sources/source-spec.js';

// the flags `run` has too are its own specs, so both read the same environment and defaults
const OPTIONS = {
  source: RUN_OPTIONS.source,
  'proc-root': RUN_OPTIONS['proc-root'],
  'log-dir': RUN_OPTIONS['log-dir'],
  db: RUN_OPTIONS.db,
  'sys-root': {
    type: 'string', value: 'PATH', env: 'SECCOMP_AUDITOR_SYS_ROOT', default: '/sys',
    description: "the host's /sys, where the cgroup hierarchies are mounted",
  },
  'kubelet-seccomp-dir': RUN_OPTIONS['kubelet-seccomp-dir'],
  'audit-rcvbuf': RUN_OPTIONS['audit-rcvbuf'],
  json: {
    type: 'boolean', env: 'SECCOMP_AUDITOR_DOCTOR_JSON',
    description: 'print one JSON object instead of lines',
  },
} satisfies OptionTable;

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check that this node lets the daemon learn, and say what to fix',
  help: () => `Usage: seccomp-auditor doctor [options]

Checks what the daemon needs on this node and prints one line per check: ok, warn or fail, what
was found, and the fix (the exact sysctl, command or path). Checks: seccomp's log action, where the
kernel sends records and whether the sources read them, the audit multicast group (joined with
CAP_AUDIT_READ, its canary record arriving, i.e. the host's network namespace, the receive buffer
against net.core.rmem_max, the kernel's audit_lost), the printk rate limit when /dev/kmsg is read
and the console level, the audit backlog (auditctl -s), /dev/kmsg, the proc root, the kubelet's
log root and seccomp directory, the cgroup version and driver, and the database. It changes
nothing; joining the group makes one canary record (comm "sa-canary", syscall getppid).

Exit code 1 when a check fails (learning cannot work, or the source will lose most records:
/dev/kmsg under printk's rate limit), 0 otherwise, warnings included.
It takes run's flags that decide what it checks (--source, --proc-root, --log-dir, --db,
--kubelet-seccomp-dir, --audit-rcvbuf) and the same environment, so it checks what that daemon
will do.
--json prints {"ok","fails","warns","checks":[{"check","status","found","fix"}]} on one line.

Options:
${formatOptions(OPTIONS)}
`,
  async run(argv: string[], io: CommandIo): Promise<number> {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, io.env);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    for (const s of values.source) {
      if (parseSourceSpec(s) === null) throw new UsageError(unknownSourceMessage(s));
    }
    const rcvbufBytes = Number(values['audit-rcvbuf']);
    if (!/^\d+$/.test(values['audit-rcvbuf']!) || rcvbufBytes < 65536 || rcvbufBytes > 2 ** 30) {
      throw new UsageError(`--audit-rcvbuf ${values['audit-rcvbuf']}: expected a number of bytes from 65536 to 1073741824, e.g. ${RUN_OPTIONS['audit-rcvbuf'].default}`);
    }
    const results = runDoctorChecks({
      rcvbufBytes,
      procRoot: values['proc-root']!,
      sysRoot: values['sys-root']!,
      logDir: values['log-dir']!,
      dbPath: values.db,
      kubeletSeccompDir: values['kubelet-seccomp-dir']!,
      sources: values.source,
    });
    io.stdout.write(values.json ? renderJson(results) : renderText(results));
    return exitCodeOf(results);
  },
};
