/**
 * Profile delivery on a node, as the daemon runs it: log-all.json (the learning profile) in the
 * kubelet's seccomp directory, the ConfigMap's profiles kept in sync, and the installer the API
 * writes through. A directory that is missing or read-only is one warning
 * (`profile_install_failed`, with the path and the fix): learning goes on with profiles placed
 * by hand.
 */
import type { Registry } from 'prom-client';
import { logAllProfileBytes, LOG_ALL_NAME } from '../profile/log-all-profile.js';
import { ProfileInstaller, SUBDIR } from './profile-installer.js';
import { registerProfileMetrics } from '../metrics/profile-metrics.js';
import { ProfileSync, type ProfileSyncEvent } from './profile-sync.js';

/** The part of pino's logger used here. */
export interface DeliveryLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface ProfileDeliveryOptions {
  /** the kubelet's seccomp root; null: installation off */
  kubeletSeccompDir: string | null;
  /** the mounted ConfigMap; null: no sync */
  syncProfilesFrom: string | null;
  log: DeliveryLog;
  /** profile metrics go here */
  registry?: Registry;
  /** ConfigMap re-read interval (default 30 s) */
  syncIntervalMs?: number;
}

export class ProfileDelivery {
  /** null while installation is off or the directory failed */
  readonly installer: ProfileInstaller | null;
  readonly sync: ProfileSync | null;

  static start(options: ProfileDeliveryOptions): ProfileDelivery {
    const { kubeletSeccompDir: root, log } = options;
    if (root === null) return new ProfileDelivery(null, null);
    let installer: ProfileInstaller;
    try {
      installer = ProfileInstaller.open({ kubeletSeccompDir: root });
    } catch (err) {
      const message = (err as Error).message;
      log.warn({ event: 'profile_install_failed', path: (err as { path?: string }).path ?? root, error: message }, `${message}; learning still works with profiles placed by hand`);
      return new ProfileDelivery(null, null);
    }
    const path = installer.pathOf(LOG_ALL_NAME);
    let logAll: ReturnType<ProfileInstaller['install']>;
    try {
      logAll = installer.install(LOG_ALL_NAME, logAllProfileBytes(), 'builtin');
    } catch (err) {
      // a full or read-only disk: the daemon still learns from pods given a profile by hand
      logAll = { outcome: 'refused', reason: `cannot write ${path}: ${(err as Error).message}; learning still works with profiles placed by hand` };
    }
    if (logAll.outcome === 'refused') {
      log.warn({ event: 'profile_install_failed', path, error: logAll.reason }, logAll.reason);
    } else {
      log.info(
        { event: 'profile_installed', name: LOG_ALL_NAME, source: 'builtin', path, changed: logAll.outcome === 'written' },
        `to learn a pod: securityContext.seccompProfile: {type: Localhost, localhostProfile: ${SUBDIR}/${LOG_ALL_NAME}.json}`,
      );
    }
    const sync = options.syncProfilesFrom === null ? null : new ProfileSync({
      dir: options.syncProfilesFrom, installer, onEvent: (e) => logSyncEvent(log, e),
      ...(options.syncIntervalMs !== undefined ? { intervalMs: options.syncIntervalMs } : {}),
    });
    const delivery = new ProfileDelivery(installer, sync);
    if (options.registry !== undefined) registerProfileMetrics(options.registry, { installer: () => delivery.installer, sync: () => delivery.sync });
    sync?.start();
    return delivery;
  }

  private constructor(installer: ProfileInstaller | null, sync: ProfileSync | null) {
    this.installer = installer;
    this.sync = sync;
  }

  stop(): void {
    this.sync?.stop();
    this.installer?.close();
  }
}

function logSyncEvent(log: DeliveryLog, e: ProfileSyncEvent): void {
  switch (e.type) {
    case 'installed':
      return log.info({ event: 'profile_installed', name: e.name, source: 'configmap', key: e.key, sha256: e.sha256 }, `installed ${SUBDIR}/${e.name}.json from the ConfigMap`);
    case 'removed':
      return log.info({ event: 'profile_removed', name: e.name, source: 'configmap' }, `removed ${SUBDIR}/${e.name}.json: its key left the ConfigMap`);
    case 'invalid':
      return log.warn({ event: 'profile_invalid', key: e.key, error: e.problem }, `ConfigMap key ${e.key} skipped: ${e.problem}`);
    case 'refused':
      return log.warn({ event: 'profile_install_failed', name: e.name, key: e.key, error: e.reason }, e.reason);
    case 'error':
      return log.warn({ event: 'profile_sync_error', error: e.detail }, e.detail);
  }
}
