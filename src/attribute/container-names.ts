import type { ContainerNames } from './attributor.js';

/**
 * Names from several places, first answer wins: the kubelet's log directory (no API call, always
 * there on a node), then the Kubernetes API when the daemon runs with a service account.
 */
export class ContainerNameSources implements ContainerNames {
  readonly #sources: ContainerNames[];

  constructor(sources: ContainerNames[]) {
    this.#sources = sources;
  }

  lookupOrRescan(containerId: string): ReturnType<ContainerNames['lookupOrRescan']> {
    for (const source of this.#sources) {
      const found = source.lookupOrRescan(containerId);
      if (found !== null) return found;
    }
    return null;
  }
}
