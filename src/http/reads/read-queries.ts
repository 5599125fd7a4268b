/**
 * Every read the API routes make of the database, by name: what a read thread runs when asked
 * `run(name, args)` (store-reader.ts). Each is a pure function of a store and plain arguments
 * returning plain data, so a call and its answer can cross between threads by structured clone.
 */
import type { SyscallStore } from '../../store/syscall-store.js';
import { statusOfStore, unattributedPage, violationsPage } from './node-reads.js';
import { podsPage, podSyscalls } from './pod-reads.js';
import { podProfile, podProfileDiff, unitProfile, workloadProfile } from './profile-reads.js';
import { unitsPage } from './unit-reads.js';
import { containerFamiliesText } from './metrics-reads.js';

export const READ_QUERIES = {
  podsPage, podSyscalls, violationsPage, unattributedPage, statusOfStore, unitsPage, podProfile, workloadProfile, podProfileDiff, unitProfile,
  containerFamiliesText,
} as const;

/** A read: a store and its arguments in, plain data out (or an ApiError / StoreError thrown). */
export type ReadQuery = (store: SyscallStore, args: never) => unknown;

/** A table of reads (READ_QUERIES; tests run tables of their own through the same threads). */
export type ReadQueryTable = Record<string, ReadQuery>;

export type ReadName = keyof typeof READ_QUERIES;
export type ReadArgs<N extends ReadName> = Parameters<(typeof READ_QUERIES)[N]>[1];
export type ReadResult<N extends ReadName> = ReturnType<(typeof READ_QUERIES)[N]>;
