/**
 * What one source's pipeline has counted since the daemon started: plain numbers, so they cross
 * from the kmsg reading thread to the main thread in a message, and only ever grow (Prometheus
 * counters), except `lagSeconds`, which describes the last batch.
 */
export interface PipelineCounters {
  /** seccomp records the parser recognised */
  records: number;
  /** lines that looked like seccomp records but were broken */
  malformed: number;
  /** lines holding a record in a framing the kernel does not write (another writer's text): not records */
  foreign: number;
  /** records per filter action (`log`, `errno`, `kill_process`, ...); actions not seen are absent */
  actions: Record<string, number>;
  /** attributed records per method (`proc`, `cache`, `lineage`, `label`) */
  attributed: Record<string, number>;
  /**
   * Seconds from the newest record of the last batch that carried records (its own kernel time
   * stamp) to when that batch was handed over to be committed; never negative (a clock that
   * jumped counts as 0). Null before the first such batch.
   */
  lagSeconds: number | null;
}
