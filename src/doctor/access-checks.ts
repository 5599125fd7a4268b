import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { parseCgroupFile } from '../attribute/cgroup-path.js';
import { ProcFs, ProcFsError } from '../attribute/proc-fs.js';
import { KmsgReader } from '../sources/kmsg-reader.js';
import { defaultDbPath, nearestExisting, SYSTEM_DB_DIR } from '../store/default-db-path.js';
import { MIGRATIONS } from '../store/migrations.js';
import { refuseUnknown } from '../store/open-database.js';
import { StoreError } from '../store/store-error.js';
import { result, type CheckResult } from './doctor-report.js';
import { readSetting } from './kernel-checks.js';

/* What the daemon must be allowed to read and write, tried the way the daemon does it. */

/**
 * Opens the device as the kmsg source does and reads one record. `needed`: the daemon will read
 * it (a fail when it cannot), else a warning only.
 */
export function checkKmsg(options: { path?: string; procRoot: string; needed: boolean }): CheckResult {
  const name = 'kmsg';
  const reader = new KmsgReader({ path: options.path ?? '/dev/kmsg' });
  try {
    reader.open();
    const read = reader.drain(() => {}, 1);
    return result(name, 'ok', read > 0 ? `${reader.path} is readable (read record ${reader.lastSeq})` : `${reader.path} opens for reading (no record to read right now)`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const status = options.needed ? 'fail' : 'warn';
    const unused = options.needed ? '' : ' (the daemon does not read it now)';
    if (code === 'EPERM' || code === 'EACCES') {
      const restrict = readSetting(join(options.procRoot, 'sys/kernel/dmesg_restrict'));
      return result(name, status, `cannot read ${reader.path}: permission denied (${code}, kernel.dmesg_restrict=${restrict ?? '?'})${unused}`,
        'run as root with CAP_SYSLOG, or sysctl -w kernel.dmesg_restrict=0');
    }
    if (code === 'ENOENT') {
      return result(name, status, `no ${reader.path}${unused}`, "in a container, mount the host's /dev/kmsg (hostPath, type CharDevice)");
    }
    return result(name, status, `${(err as Error).message}${unused}`, null);
  } finally {
    reader.close();
  }
}

/**
 * Reads what attribution reads: pid 1's cgroup and another process's stat. A proc root whose pid 1
 * sits in a pod's cgroup is that pod's pid namespace, where no other pod's process can be found.
 */
export function checkProcRoot(procRoot: string): CheckResult {
  const name = 'proc-root';
  const fix = "mount the host's /proc and pass --proc-root, or run the pod with hostPID: true";
  const proc = new ProcFs({ root: procRoot });
  let pids: number[];
  try {
    pids = readdirSync(procRoot).filter((e) => /^\d+$/.test(e)).map(Number);
  } catch (err) {
    return result(name, 'fail', `cannot list ${procRoot} (${(err as NodeJS.ErrnoException).code})`, `pass the host's /proc as --proc-root`);
  }
  try {
    const cgroup = proc.readCgroup(1);
    if (cgroup === null) return result(name, 'fail', `${procRoot} has no process 1: it is not a proc file system`, fix);
    const other = pids.find((p) => p !== 1 && p !== process.pid);
    if (other === undefined) return result(name, 'warn', `${procRoot} shows no process but pid 1 and this one: a private pid namespace`, fix);
    // the process may exit between the listing and the read; that says nothing about access
    proc.readStat(other);
    const pid1 = parseCgroupFile(cgroup);
    if (pid1.podUid !== null) {
      return result(name, 'warn', `pid 1 of ${procRoot} is in pod ${pid1.podUid}'s cgroup: this is a pod's own pid namespace, other pods' processes are invisible`, fix);
    }
    return result(name, 'ok', `${procRoot}: read pid 1's cgroup and pid ${other}'s stat (${pids.length} processes)`);
  } catch (err) {
    if (err instanceof ProcFsError) return result(name, 'fail', err.message, fix);
    throw err;
  }
}

/**
 * The kubelet's log root gives containers their pod, namespace and container names; without it
 * they are known by container id only.
 */
export function checkKubeletLogs(logDir: string): CheckResult {
  const name = 'kubelet-log-root';
  const problems: string[] = [];
  const seen: string[] = [];
  for (const sub of ['pods', 'containers']) {
    const dir = join(logDir, sub);
    try {
      seen.push(`${dir} (${readdirSync(dir).length} entries)`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(code === 'ENOENT' ? `no ${dir}` : `cannot read ${dir} (${code})`);
    }
  }
  if (problems.length === 0) return result(name, 'ok', `readable: ${seen.join(', ')}`);
  return result(name, 'warn', `${problems.join(', ')}: containers get no pod or container names from the kubelet's logs (a node without pods yet, or another log root)`,
    "--log-dir <the kubelet's log root, /var/log on most nodes>, readable by the daemon");
}

/** Where the kubelet reads localhost seccomp profiles from: the daemon installs profiles there. */
export function checkKubeletSeccompDir(dir: string): CheckResult {
  const name = 'kubelet-seccomp-dir';
  if (dir === '' || dir === 'none') return result(name, 'ok', 'profile installation is off (--kubelet-seccomp-dir none)');
  const fix = `make ${dir} writable for the daemon (a hostPath mount; ReadWritePaths= under systemd), or pass --kubelet-seccomp-dir`;
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st !== undefined) {
    if (!st.isDirectory()) return result(name, 'warn', `${dir} is not a directory`, fix);
    const denied = writeDenied(dir);
    if (denied === null) return result(name, 'ok', `${dir} is writable`);
    return result(name, 'warn', `${dir} is not writable (${denied})`, fix);
  }
  // the daemon creates only its own seccomp-auditor/ inside, never the kubelet's directory
  return result(name, 'warn', `${dir} does not exist: the daemon installs no profiles (learning works with profiles placed by hand)`,
    `create ${dir} (a kubelet creates it; in a DaemonSet a hostPath of type DirectoryOrCreate), or pass --kubelet-seccomp-dir`);
}

/**
 * Can the daemon open the database for writing? The same default as `run` without --db (the
 * system location where it may write there, else ./data), decided without creating anything; an
 * existing file is opened read-only and its stamp and schema version checked, as the store does.
 */
export function checkDatabase(dbPath: string | undefined, systemDir = SYSTEM_DB_DIR): CheckResult {
  const name = 'database';
  const path = resolve(dbPath ?? defaultDbPath({ create: false, systemDir }));
  const fix = dbPath === undefined
    ? `create ${systemDir} writable for the daemon's user (StateDirectory=seccomp-auditor under systemd), or pass --db`
    : `make ${dirname(path)} writable for the daemon, or pass another --db`;
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined) {
    const parent = nearestExisting(dirname(path));
    const denied = writeDenied(parent);
    if (denied !== null) return result(name, 'fail', `${path} does not exist and cannot be created: ${parent} is not writable (${denied})`, dbPath === undefined ? fix : `make ${parent} writable for the daemon, or pass another --db`);
    return result(name, 'ok', `${path} does not exist yet; ${parent} is writable, so the daemon creates it`);
  }
  if (!st.isFile()) return result(name, 'fail', `${path} is not a file`, 'pass --db with a file path');
  // SQLite writes the -wal and -shm files beside the database
  const denied = writeDenied(path) ?? writeDenied(dirname(path));
  if (denied !== null) return result(name, 'fail', `${path} exists but is not writable (${denied})`, fix);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    // the store's own test of a file it may use
    refuseUnknown(db, path);
    const version = db.pragma('user_version', { simple: true }) as number;
    return result(name, 'ok', `${path} is writable (schema version ${version} of ${MIGRATIONS.at(-1)!.version}, ${st.size} bytes)`);
  } catch (err) {
    if (err instanceof StoreError) return result(name, 'fail', err.message, err.code === 'SA_DB_NEWER' ? 'upgrade seccomp-auditor, or pass another --db' : 'pass another --db');
    return result(name, 'fail', `${path} cannot be opened as an SQLite database (${(err as Error).message})`, 'move the file away, or pass another --db');
  } finally {
    db?.close();
  }
}

/** null when this process may write to path, else the error code (EACCES, EROFS...). */
function writeDenied(path: string): string | null {
  try {
    accessSync(path, constants.W_OK);
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'EACCES';
  }
}


