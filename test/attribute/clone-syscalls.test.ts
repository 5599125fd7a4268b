import t from 'tap';
import { isProcessCreation } from '../../src/attribute/clone-syscalls.js';
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT } from '../../src/syscalls/audit-arch.js';
import { syscallNumber } from '../../src/syscalls/syscall-table.js';

// Numbers from the kernel's tables (syscall-tables/*.json), looked up by name here so that the
// test states what it means: clone, clone3, fork and vfork create processes, on each arch's own
// numbers, and nothing else does.
t.test('process-creating calls are told by number on their own arch, the sets built on first use', async (t) => {
  for (const name of ['clone', 'clone3', 'fork', 'vfork']) {
    t.ok(isProcessCreation(AUDIT_ARCH_X86_64, syscallNumber('x86_64', name)!), `x86_64 ${name}`);
    t.ok(isProcessCreation(AUDIT_ARCH_I386, syscallNumber('i386', name)!), `i386 ${name}`);
  }
  // x32 shares x86_64's audit arch: its numbers carry the x32 bit
  t.ok(isProcessCreation(AUDIT_ARCH_X86_64, syscallNumber('x32', 'clone')!), 'x32 clone under the x86_64 audit arch');
  t.equal(syscallNumber('x32', 'clone')! & X32_SYSCALL_BIT, X32_SYSCALL_BIT);
  // aarch64 has no fork or vfork: 220 is clone there, 57 (fork on x86_64) is close
  t.ok(isProcessCreation(AUDIT_ARCH_AARCH64, syscallNumber('aarch64', 'clone')!), 'aarch64 clone');
  t.notOk(isProcessCreation(AUDIT_ARCH_AARCH64, syscallNumber('x86_64', 'fork')!), "x86_64's fork number is not a fork on aarch64");
  // alternating arches: the kept last set must follow the arch
  t.ok(isProcessCreation(AUDIT_ARCH_X86_64, syscallNumber('x86_64', 'fork')!));
  t.notOk(isProcessCreation(AUDIT_ARCH_X86_64, syscallNumber('x86_64', 'read')!), 'read is not');
});

t.test('an arch no table knows creates nothing', async (t) => {
  for (let i = 0; i < 1000; i++) t.notOk(isProcessCreation(0xdead0000 + i, 56), 'unknown audit arch');
  t.ok(isProcessCreation(AUDIT_ARCH_X86_64, syscallNumber('x86_64', 'clone')!), 'a known arch after unknown ones');
});
