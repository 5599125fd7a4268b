/**
 * The messages between the main thread and a read thread (store-reader-worker.ts), and how an
 * error crosses: structured clone keeps an Error's message but not its class or fields, so
 * ApiError and StoreError travel as their fields and are rebuilt as themselves, so that the
 * app's error handler answers them exactly as when they are thrown on the main thread.
 */
import { API_ERRORS, ApiError, type ApiErrorCode } from './api-errors.js';
import { StoreError, type StoreErrorCode } from '../store/store-error.js';
import type { FileIdentity } from '../store/file-identity.js';

/** What the thread is started with. */
export interface ReadThreadData {
  /** the module (file URL) whose READ_QUERIES the thread runs */
  queries: string;
  /** how long a read waits for a lock before SA_DB_BUSY */
  busyTimeoutMs: number;
}

/**
 * Run one read against the database the daemon has open at `path`; `generation` changes each
 * time the daemon opens a database anew (the file may be another one at the same path), and
 * the thread then reopens its own connection.
 */
export interface ReadRequest {
  type: 'read'; id: number; name: string; args: unknown; path: string; generation: number;
  /** the file the daemon's database is (null: unknown); a thread opening the path finds another there when it was replaced meanwhile */
  file: FileIdentity | null;
  /** answer as JSON (UTF-8 bytes, their buffer transferred), serialized on the thread (see StoreReader.runJson) */
  json: boolean;
}

/** The daemon closed its database: close ours too, so a deleted file's space is not held. */
export interface ReleaseRequest { type: 'release' }

export type ToReadThread = ReadRequest | ReleaseRequest;

export type WireError =
  | { kind: 'api'; code: ApiErrorCode; message: string }
  | { kind: 'store'; code: StoreErrorCode; path: string; message: string }
  /** anything else is a bug: its message and stack, for the log */
  | { kind: 'bug'; message: string; stack: string };

/** `seconds`: how long the read took in the thread, not counting its wait in the queue. */
export type ReadReply =
  | { id: number; ok: true; value: unknown; seconds: number }
  | { id: number; ok: false; error: WireError; seconds: number };

export function errorToWire(err: unknown): WireError {
  if (err instanceof ApiError) return { kind: 'api', code: err.code, message: err.message };
  if (err instanceof StoreError) return { kind: 'store', code: err.code, path: err.path, message: err.message };
  const e = err instanceof Error ? err : new Error(String(err));
  return { kind: 'bug', message: e.message, stack: e.stack ?? e.message };
}

export function errorFromWire(e: WireError): Error {
  if (e.kind === 'api' && e.code in API_ERRORS) return new ApiError(e.code, e.message);
  if (e.kind === 'store') return new StoreError(e.code, e.path, e.message);
  const err = new Error(`in the read thread: ${e.message}`);
  if (e.kind === 'bug') err.stack = `${err.message}\n${e.stack}`;
  return err;
}
