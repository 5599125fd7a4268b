import { Counter, Gauge, type Registry } from 'prom-client';
import type { ProfileInstaller } from '../deliver/profile-installer.js';
import type { ProfileSync } from '../deliver/profile-sync.js';

/** Metrics of profile delivery, read at scrape time from the installer and the ConfigMap sync. */
export function registerProfileMetrics(registry: Registry, from: { installer: () => ProfileInstaller | null; sync: () => ProfileSync | null }): void {
  new Gauge({
    name: 'seccomp_auditor_profiles_installed', help: 'Seccomp profiles this daemon installed in the kubelet\'s seccomp directory, per source (configmap, api, builtin).',
    labelNames: ['source'], registers: [registry],
    collect() {
      this.reset();
      const installer = from.installer();
      if (installer === null) return;
      const counts = { configmap: 0, api: 0, builtin: 0 };
      try {
        for (const p of installer.list()) counts[p.source]++;
      } catch {
        // the directory went away or turned unreadable: no series rather than a failed scrape
        return;
      }
      for (const [source, n] of Object.entries(counts)) this.set({ source }, n);
    },
  });
  new Counter({
    name: 'seccomp_auditor_profiles_invalid_total', help: 'ConfigMap keys skipped because they are not a valid seccomp profile (each content counted once).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(from.sync()?.stats.invalid ?? 0);
    },
  });
}
