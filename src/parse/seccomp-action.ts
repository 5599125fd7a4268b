import type { SeccompAction } from '../types/seccomp-record.js';

// SECCOMP_RET_ACTION_FULL: the kernel logs the filter's whole return value in `code=`; only the
// upper 16 bits name the action (the lower 16 are the errno / trace data, which the kernel
// never logs for ERRNO anyway).
const ACTION_MASK = 0xffff0000;

/** Maps a `code=` value to the action it stands for. */
export function actionOfCode(code: number): SeccompAction {
  switch ((code & ACTION_MASK) >>> 0) {
    case 0x7ffc0000: return 'log';
    case 0x00050000: return 'errno';
    case 0x80000000: return 'kill_process';
    case 0x00000000: return 'kill_thread';
    case 0x00030000: return 'trap';
    case 0x7fc00000: return 'user_notif';
    case 0x7ff00000: return 'trace';
    case 0x7fff0000: return 'allow';
    default: return 'unknown';
  }
}

/** The `code=` value of each action, for input that names the action instead (ausearch --interpret). */
const ACTION_CODES: Readonly<Record<Exclude<SeccompAction, 'unknown'>, number>> = {
  kill_process: 0x80000000,
  kill_thread: 0x00000000,
  trap: 0x00030000,
  errno: 0x00050000,
  user_notif: 0x7fc00000,
  trace: 0x7ff00000,
  log: 0x7ffc0000,
  allow: 0x7fff0000,
};

/**
 * auparse prints the action names of its seccomp table (`kill`, `trap`, `errno`, `trace`, `log`,
 * `allow`); newer releases and hand-written input may use the kernel's longer names.
 */
export function codeOfInterpretedAction(name: string): number | null {
  switch (name) {
    case 'kill':
    case 'kill-thread':
    case 'kill_thread': return ACTION_CODES.kill_thread;
    case 'kill-process':
    case 'kill_process': return ACTION_CODES.kill_process;
    case 'trap': return ACTION_CODES.trap;
    case 'errno': return ACTION_CODES.errno;
    case 'user-notif':
    case 'user_notif': return ACTION_CODES.user_notif;
    case 'trace': return ACTION_CODES.trace;
    case 'log': return ACTION_CODES.log;
    case 'allow': return ACTION_CODES.allow;
    default: {
      // `unknown-seccomp-code(0x...)` keeps the raw value
      const m = /^unknown-seccomp-code\((0x[0-9a-f]+)\)$/i.exec(name);
      return m ? Number.parseInt(m[1]!, 16) : null;
    }
  }
}
