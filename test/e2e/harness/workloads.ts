/**
 * The two pods' workloads of the end-to-end scenarios, as busybox shell scripts. The two
 * images keep busybox in different places, so the kernel's records (exe=) tell the pods apart
 * without asking the daemon: that is the ground truth its attribution is measured against.
 */

export interface Workload {
  args: string[];
  /** where its image keeps busybox: every record of its processes carries it as exe= */
  busybox: string;
  /** what a successful run prints */
  expectOutput: RegExp;
}

/**
 * A batch job: a shell that forks short-lived children in a loop (the processes a profile
 * misses when attribution only reads /proc when a record arrives). `usleep` paces it so that one
 * iteration's burst of records fits in the kernel's ring buffer (~560 records here).
 */
export function batchJob(iterations: number): Workload {
  return {
    args: ['/bin/sh', '-c', `i=0
while [ $i -lt ${iterations} ]; do
  uname -a > /tmp/uname
  cat /proc/version > /tmp/version
  ls /bin > /dev/null
  wc -c /tmp/version > /dev/null
  usleep 20000
  i=$((i + 1))
done
echo "batch done $i"`],
    busybox: '/bin/busybox',
    expectOutput: new RegExp(`^batch done ${iterations}\\n$`),
  };
}

/**
 * A server: busybox httpd in the background (forking per connection) and a client loop. Its
 * calls must not depend on timing, or a profile learned from one run lacks what the next run
 * makes (measured over 8 runs of each form): the first `sleep` is unconditional (the wait loop's
 * sleep ran in 1 of 8 runs), and the server is not killed and waited for (ash's `wait` calls
 * rt_sigsuspend and rt_sigprocmask only when the server is still alive, 4 of 8 runs; denied, it
 * spins at 100% CPU: the enforce run hung): it ends with the container's init. wget polls its
 * socket only when the answer is not there yet (~9% of requests): the learning run makes enough
 * requests that one does (learn-enforce.test.ts).
 */
export function webServer(requests: number): Workload {
  return {
    args: ['/bin/ash', '-c', `httpd -f -p 127.0.0.1:8080 -h /www &
sleep 0.05
tries=0
until wget -q -O /dev/null http://127.0.0.1:8080/ 2>/dev/null; do
  tries=$((tries + 1))
  # bounded: a server that never answers ends the run with a message, not a hang
  if [ $tries -ge 250 ]; then echo "the server never answered" >&2; exit 3; fi
  sleep 0.02
done
n=1
while [ $n -lt ${requests} ]; do
  wget -q -O /tmp/page http://127.0.0.1:8080/
  n=$((n + 1))
done
cat /tmp/page
echo "served $n"`],
    busybox: '/usr/local/bin/busybox',
    expectOutput: new RegExp(`^hello from the server pod\\nserved ${requests}\\n$`),
  };
}

/**
 * The batch job plus one thing it never did: make a FIFO (mknodat). Under the learned profile
 * the call fails with EPERM; under a log-everything profile it runs.
 */
export function batchJobVariant(iterations: number): Workload {
  const base = batchJob(iterations);
  return {
    ...base,
    args: [base.args[0]!, base.args[1]!, `${base.args[2]}
mkfifo /tmp/fifo && echo "fifo made"`],
    expectOutput: new RegExp(`^batch done ${iterations}\\nfifo made\\n$`),
  };
}
