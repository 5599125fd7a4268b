import { createRequire } from 'node:module';

/** The same from src/runtime (tsx) and dist/runtime (built). */
const ADDON_PATH = '../../build/Release/malloc_policy.node';

/**
 * Large allocations (128 KiB and more) mapped and given back when freed, not kept in malloc's
 * arenas (native/malloc-policy.c says why). True when the C library took it; false when it has
 * no such setting or the addon is not built, which costs memory, not correctness.
 */
export function keepLargeAllocationsMapped(): boolean {
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as { keepLargeMapped(): boolean };
    return addon.keepLargeMapped();
  } catch {
    return false;
  }
}
