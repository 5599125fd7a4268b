// Run by open-database.test.ts as another user: opens the store at argv[2] and prints the outcome as JSON.
import { SyscallStore } from '../../src/store/syscall-store.js';

try {
  SyscallStore.open({ path: process.argv[2]! }).close();
  process.stdout.write(JSON.stringify({ code: null }));
} catch (err) {
  const e = err as { code?: string; message: string };
  process.stdout.write(JSON.stringify({ code: e.code, message: e.message }));
}
