/**
 * The calls that make a process. Attribution follows them to find short-lived children (see
 * src/attribute/clone-syscalls.ts), which is why a complain-mode profile keeps logging them.
 */
export const PROCESS_CREATION_SYSCALLS: readonly string[] = ['clone', 'clone3', 'fork', 'vfork'];
