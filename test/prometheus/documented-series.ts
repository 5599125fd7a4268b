/**
 * Every seccomp_auditor_* family the README documents, with the labels each series carries, as
 * Prometheus stores them (plus the target's own job, instance and node). The scrape test checks
 * this list against a real Prometheus both ways: each family is there with exactly these labels,
 * and no other seccomp_auditor_* family is; the README test checks that the README names each.
 */
export const DOCUMENTED_SERIES: Record<string, readonly string[]> = {
  seccomp_auditor_build_info: ['version'],
  seccomp_auditor_records_read_total: ['source'],
  seccomp_auditor_filter_actions_total: ['source', 'action'],
  seccomp_auditor_malformed_lines_total: ['source'],
  seccomp_auditor_foreign_lines_total: ['source'],
  seccomp_auditor_attributed_records_total: ['source', 'method'],
  seccomp_auditor_source_lag_seconds: ['source'],
  seccomp_auditor_source_up: ['source'],
  seccomp_auditor_records_lost_total: ['source', 'reason'],
  seccomp_auditor_unattributed_records_total: ['reason'],
  seccomp_auditor_unattributed_process_records_total: ['reason', 'comm', 'exe'],
  seccomp_auditor_key_overflow_records_total: ['table'],
  seccomp_auditor_container_syscalls: ['namespace', 'workload', 'pod', 'container'],
  seccomp_auditor_container_last_new_syscall_timestamp_seconds: ['namespace', 'workload', 'pod', 'container'],
  seccomp_auditor_container_records_since_new_syscall: ['namespace', 'workload', 'pod', 'container'],
  seccomp_auditor_container_learning_complete: ['namespace', 'workload', 'pod', 'container'],
  seccomp_auditor_container_learning_young: ['namespace', 'workload', 'pod', 'container'],
  seccomp_auditor_container_syscall_records_total: ['namespace', 'workload', 'pod', 'container', 'syscall', 'action'],
  seccomp_auditor_violations_total: ['namespace', 'workload', 'pod', 'container', 'syscall', 'action'],
  seccomp_auditor_container_syscall_records_over_cap: [],
  seccomp_auditor_database_bytes: [],
  seccomp_auditor_database_up: [],
  seccomp_auditor_database_commit_failures_total: [],
  seccomp_auditor_pending_batches: [],
  seccomp_auditor_pending_batches_dropped_total: [],
  seccomp_auditor_database_commit_seconds_bucket: ['le'],
  seccomp_auditor_database_commit_seconds_sum: [],
  seccomp_auditor_database_commit_seconds_count: [],
  seccomp_auditor_profiles_installed: ['source'],
  seccomp_auditor_profiles_invalid_total: [],
  seccomp_auditor_read_requests_abandoned_total: ['stage'],
  seccomp_auditor_read_queue_rejected_total: [],
  seccomp_auditor_read_queue_length: [],
  seccomp_auditor_read_seconds_bucket: ['query', 'le'],
  seccomp_auditor_read_seconds_sum: ['query'],
  seccomp_auditor_read_seconds_count: ['query'],
};

/** the labels Prometheus adds to every series of the test's target */
export const TARGET_LABELS = ['job', 'instance', 'node'] as const;
