#!/usr/bin/env bash
# A first hour with seccomp-auditor, without Kubernetes: learn a container's seccomp profile from
# the kernel's audit records, enforce it, and see what it denies.
#
# Run as root on a Linux machine with runc or crun, busybox-static and Node.js, from a checkout
# where `npm install` has built dist/ (or point SA_CLI at another `seccomp-auditor` command):
#
#   sudo examples/try-with-runc.sh              # crun when installed (it shows denials), else runc
#   sudo RUNTIME=runc examples/try-with-runc.sh
#
# What it touches, all undone on exit (also on failure or Ctrl-C): a temp directory holding the
# daemon's database, a kubelet-style log directory and seccomp directory, and the containers'
# bundles; one kubepods cgroup per pod (/kubepods/burstable/pod<uid>/<id> in each hierarchy),
# removed with any parent it had to create; with crun on a hybrid cgroup layout whose cgroup2
# holds hugetlb (crun refuses that layout), a temporary v1 hugetlb mount, unmounted at the end.
# The daemon reads the kernel's audit multicast group (every seccomp record, as journald would
# read it); no sysctl, audit rule or other node setting is changed.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SA_CLI=${SA_CLI:-"node $ROOT/dist/cli.js"}
NS=try
POD=hello-5d8f7c9b6-x2k4p
CANARY=hello-canary
CONTAINER=hello

step=0
say() { printf '\n==> %s\n' "$*"; }
step() { step=$((step + 1)); say "$step. $* [${SECONDS}s]"; }
info() { printf '    %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

# ---- what the machine needs ----
[ "$(id -u)" = 0 ] || die "run as root (the daemon joins the kernel's audit group and the runtime creates cgroups): sudo $0"
pick_runtime() {
  for r in "$@"; do if command -v "$r" >/dev/null 2>&1; then echo "$r"; return; fi; done
}
RUNTIME=${RUNTIME:-$(pick_runtime crun runc)}
[ -n "$RUNTIME" ] || die "neither crun nor runc is installed (Debian: apt-get install crun, or runc)"
command -v "$RUNTIME" >/dev/null 2>&1 || die "RUNTIME=$RUNTIME is not installed"
case "$RUNTIME" in runc|crun) ;; *) die "RUNTIME must be runc or crun, got $RUNTIME" ;; esac
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do [ -x "$b" ] && BUSYBOX=$b && break; done
[ -n "$BUSYBOX" ] || die "busybox is not installed (Debian: apt-get install busybox-static)"
if command -v ldd >/dev/null 2>&1 && ldd "$BUSYBOX" >/dev/null 2>&1; then
  die "$BUSYBOX is linked dynamically; the container's root holds nothing else: install busybox-static"
fi
command -v node >/dev/null 2>&1 || die "node is not installed (Node.js 20 or later)"
[ "$SA_CLI" != "node $ROOT/dist/cli.js" ] || [ -f "$ROOT/dist/cli.js" ] || die "$ROOT/dist/cli.js is missing: run npm install (it builds dist/) in $ROOT"

TMP=$(mktemp -d /tmp/sa-try.XXXXXX)
DAEMON_PID=
CONTAINERS=
HUGETLB_MOUNT=
: >"$TMP/cgroups-made"

# ---- cleanup: everything this run made, also on failure ----
cleanup() {
  code=$?
  set +e
  say "cleanup"
  for id in $CONTAINERS; do
    "$RUNTIME" kill "$id" KILL >/dev/null 2>&1
    "$RUNTIME" delete --force "$id" >/dev/null 2>&1
  done
  [ -n "$CONTAINERS" ] && info "containers deleted: $CONTAINERS"
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -TERM "$DAEMON_PID"
    for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$DAEMON_PID" 2>/dev/null && kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null
    info "daemon stopped (pid $DAEMON_PID)"
  fi
  # deepest first; rmdir removes only empty cgroups, and only those this run created are listed
  n=0
  for d in $(awk '{ print length, $0 }' "$TMP/cgroups-made" | sort -rn | cut -d' ' -f2-); do
    [ -d "$d" ] && rmdir "$d" 2>/dev/null && n=$((n + 1))
  done
  info "cgroups removed: $n"
  if [ -n "$HUGETLB_MOUNT" ]; then
    umount "$HUGETLB_MOUNT" && rmdir "$HUGETLB_MOUNT"
    # leave the machine as found: cgroup2 holding hugetlb again
    for _ in $(seq 50); do v2_holds hugetlb && break; sleep 0.1; done
    info "temporary hugetlb v1 mount removed; cgroup2 holds hugetlb again: $(v2_holds hugetlb && echo yes || echo not yet)"
  fi
  rm -rf "$TMP"
  info "removed $TMP"
  [ "$code" = 0 ] && say "done: everything this run made is gone" || printf '\nexit %s; everything this run made is gone\n' "$code"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- helpers ----
get() { curl -fsS "http://$LISTEN$1"; }
post_json() { curl -fsS -H 'content-type: application/json' --data-binary "@$2" "http://$LISTEN$1"; }
if ! command -v curl >/dev/null 2>&1; then
  get() { node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) process.exit(22); process.stdout.write(await r.text()); })' "http://$LISTEN$1"; }
  post_json() { node -e 'fetch(process.argv[1], { method: "POST", headers: { "content-type": "application/json" }, body: require("fs").readFileSync(process.argv[2]) }).then(async (r) => { if (!r.ok) process.exit(22); process.stdout.write(await r.text()); })' "http://$LISTEN$1" "$2"; }
fi
# a field of a JSON document on stdin: json 'd => d.items.length'
json() { node -e 'let s = ""; process.stdin.on("data", (c) => { s += c; }).on("end", () => { const v = (eval(process.argv[1]))(JSON.parse(s)); process.stdout.write(typeof v === "string" ? v : JSON.stringify(v)); })' "$1"; }

hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
uuid() { h=$(hex 16); echo "${h:0:8}-${h:8:4}-${h:12:4}-${h:16:4}-${h:20:12}"; }

# A pod's container as a kubelet leaves it on a node: its cgroup path (cgroupfs driver) and the
# log directory entries the daemon takes names from. Prints the cgroupsPath.
add_container() { # NS POD CONTAINER
  uid=$(uuid)
  id=$(hex 32)
  path="/kubepods/burstable/pod$uid/$id"
  for h in /sys/fs/cgroup /sys/fs/cgroup/* $HUGETLB_MOUNT; do
    [ -d "$h" ] && [ -f "$h/cgroup.procs" ] || continue
    for p in /kubepods /kubepods/burstable "/kubepods/burstable/pod$uid" "$path"; do
      [ -d "$h$p" ] || echo "$h$p" >>"$TMP/cgroups-made"
    done
  done
  mkdir -p "$TMP/log/pods/${1}_${2}_$uid/$3"
  : >"$TMP/log/pods/${1}_${2}_$uid/$3/0.log"
  ln -s "$TMP/log/pods/${1}_${2}_$uid/$3/0.log" "$TMP/log/containers/${2}_${1}_$3-$id.log"
  echo "$path"
}

# Runs busybox sh -c SCRIPT in a container: run_container NAME CGROUPS_PATH PROFILE_FILE SCRIPT.
# Leaves its exit code in $rc, its output in $TMP/NAME.out and .err.
run_container() {
  id="sa-try-$1-$(hex 3)"
  bundle="$TMP/bundles/$id"
  mkdir -p "$bundle"
  script=$(printf '%s' "$4" | node -e 'let s = ""; process.stdin.on("data", (c) => { s += c; }).on("end", () => process.stdout.write(JSON.stringify(s)))')
  cat >"$bundle/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false, "user": { "uid": 0, "gid": 0 }, "cwd": "/", "env": ["PATH=/bin"],
    "args": ["/bin/sh", "-c", $script],
    "capabilities": { "bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID"],
                      "effective": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID"],
                      "permitted": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID"] },
    "noNewPrivileges": true
  },
  "root": { "path": "$TMP/rootfs", "readonly": true },
  "hostname": "$CONTAINER",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755", "size=65536k"] },
    { "destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", "size=16m"] }
  ],
  "linux": {
    "cgroupsPath": "$2",
    "namespaces": [{ "type": "pid" }, { "type": "network" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" }],
    "seccomp": $(cat "$3")
  }
}
EOF
  CONTAINERS="$CONTAINERS $id"
  rc=0
  "$RUNTIME" run --bundle "$bundle" "$id" >"$TMP/$1.out" 2>"$TMP/$1.err" </dev/null || rc=$?
  "$RUNTIME" delete --force "$id" >/dev/null 2>&1 || true
  CONTAINERS=${CONTAINERS% $id}
  sed 's/^/    | /' "$TMP/$1.out" "$TMP/$1.err"
}

# Waits until the daemon's record count for the pod stops growing (it commits twice a second).
wait_learned() { # POD
  last=-1 same=0
  for _ in $(seq 60); do
    n=$(get "/api/v1/pods?namespace=$NS" | json "d => d.items.filter((p) => p.pod === '$1').reduce((n, p) => n + p.containers.reduce((m, c) => m + c.records, 0), 0)")
    if [ "$n" -gt 0 ] && [ "$n" = "$last" ]; then same=$((same + 1)); [ "$same" -ge 3 ] && break; else same=0; fi
    last=$n
    sleep 0.5
  done
  [ "$last" -gt 0 ] || die "the daemon attributed no record to $NS/$1; its log: $TMP/daemon.log"
  echo "$last"
}

WORK='i=0
while [ $i -lt 5 ]; do
  uname -a > /tmp/uname
  cat /proc/version > /tmp/version
  ls /bin > /dev/null
  i=$((i + 1))
done
echo "hello from a container, $i rounds"'
VARIANT="$WORK
mkfifo /tmp/fifo && echo 'made a FIFO'"

say "seccomp-auditor trial: $RUNTIME ($("$RUNTIME" --version | head -1)), $BUSYBOX, temp dir $TMP"

# ---- crun and a hybrid cgroup layout ----
# crun 1.8 refuses a hybrid layout (v1 controllers beside a cgroup2 mount) while cgroup2 holds
# any controller; on Debian's hybrid layout it holds hugetlb, which no v1 hierarchy mounts.
# A v1 mount of hugetlb moves the controller there for the run. The kernel hands a controller
# back to cgroup2 a moment after its v1 hierarchy goes (a mount in that moment joins the dying
# hierarchy), so wait until cgroup2 really let go, and mount again when it did not.
v2_holds() { grep -qw "$1" /sys/fs/cgroup/unified/cgroup.controllers; }
if [ "$RUNTIME" = crun ] && [ -f /sys/fs/cgroup/unified/cgroup.controllers ] && ! grep -q ' cgroup .*hugetlb' /proc/self/mountinfo \
  && grep -qw '^hugetlb' /proc/cgroups; then
  HUGETLB_MOUNT=$(mktemp -d /tmp/sa-try-hugetlb.XXXXXX)
  for attempt in 1 2 3 4 5; do
    mount -t cgroup -o hugetlb none "$HUGETLB_MOUNT" || die "cannot mount a v1 hugetlb hierarchy for crun; run with RUNTIME=runc"
    for _ in $(seq 30); do v2_holds hugetlb || break; sleep 0.1; done
    v2_holds hugetlb || break
    umount "$HUGETLB_MOUNT"
    for _ in $(seq 30); do v2_holds hugetlb && break; sleep 0.1; done
    [ "$attempt" = 5 ] && die "cgroup2 keeps the hugetlb controller; run with RUNTIME=runc"
  done
  info "crun refuses a hybrid layout whose cgroup2 holds a controller: hugetlb moved to a temporary v1 mount ($HUGETLB_MOUNT) until the end"
fi
if [ "$RUNTIME" = crun ] && [ -s /sys/fs/cgroup/unified/cgroup.controllers ]; then
  die "crun refuses this hybrid cgroup layout (cgroup2 holds: $(cat /sys/fs/cgroup/unified/cgroup.controllers)); run with RUNTIME=runc"
fi

step "start the daemon on a throwaway database"
mkdir -p "$TMP/db" "$TMP/log/containers" "$TMP/log/pods" "$TMP/seccomp" "$TMP/rootfs/bin" "$TMP/rootfs/proc" "$TMP/rootfs/dev" "$TMP/rootfs/tmp" "$TMP/bundles"
# shellcheck disable=SC2086 # SA_CLI is a command line
$SA_CLI run --db "$TMP/db/seccomp-auditor.db" --log-dir "$TMP/log" --kubelet-seccomp-dir "$TMP/seccomp" \
  --listen 127.0.0.1:0 --node-name trial >"$TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
LISTEN=
for _ in $(seq 100); do
  LISTEN=$(sed -n 's/.*"event":"started".*"listen":"\([^"]*\)".*/\1/p' "$TMP/daemon.log" | head -1)
  [ -n "$LISTEN" ] && break
  kill -0 "$DAEMON_PID" 2>/dev/null || die "the daemon exited: $(cat "$TMP/daemon.log")"
  sleep 0.1
done
[ -n "$LISTEN" ] || die "the daemon did not start within 10 s: $(cat "$TMP/daemon.log")"
for _ in $(seq 100); do get /readyz >/dev/null 2>&1 && break; sleep 0.1; done
get /readyz >/dev/null 2>&1 || die "the daemon is not ready: $(curl -s "http://$LISTEN/readyz" 2>/dev/null)"
info "listening on $LISTEN, pid $DAEMON_PID; source: $(sed -n 's/.*"event":"source_chosen".*"source":"\([^"]*\)".*/\1/p' "$TMP/daemon.log" | head -1)"
info "installed the learning profile: $(cd "$TMP/seccomp" && ls seccomp-auditor/log-all.json) (defaultAction $(json 'd => d.defaultAction' <"$TMP/seccomp/seccomp-auditor/log-all.json"))"

step "learn: run a busybox container under the logging profile"
cp "$BUSYBOX" "$TMP/rootfs/bin/busybox"
for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -s busybox "$TMP/rootfs/bin/$a"; done
LEARN_CGROUP=$(add_container "$NS" "$POD" "$CONTAINER")
info "pod $NS/$POD, cgroupsPath $LEARN_CGROUP"
run_container learn "$LEARN_CGROUP" "$TMP/seccomp/seccomp-auditor/log-all.json" "$WORK"
[ "$rc" = 0 ] || die "the container failed under the logging profile (exit $rc)"
records=$(wait_learned "$POD")
info "the daemon attributed $records records to $NS/$POD: $(get "/api/v1/namespaces/$NS/pods/$POD/syscalls" | json 'd => d.containers[0].syscalls.length') distinct syscalls"

step "export the learned profile"
BASELINE=$RUNTIME
# shellcheck disable=SC2086
$SA_CLI profile --db "$TMP/db/seccomp-auditor.db" --namespace "$NS" --pod "$POD" --baseline "$BASELINE" >"$TMP/learned.json"
info "seccomp-auditor profile --namespace $NS --pod $POD --baseline $BASELINE:"
info "$(json 'd => `defaultAction ${d.defaultAction}, ${d.syscalls[0].names.length} syscalls allowed: ${d.syscalls[0].names.join(" ")}`' <"$TMP/learned.json")"

step "enforce: the same container under the learned profile"
run_container enforce "$LEARN_CGROUP" "$TMP/learned.json" "$WORK"
[ "$rc" = 0 ] || die "the container failed under its learned profile (exit $rc)"
info "it runs (exit 0)"

step "a variant that makes a new syscall (mkfifo: mknodat) under the learned profile"
run_container variant "$LEARN_CGROUP" "$TMP/learned.json" "$VARIANT"
[ "$rc" != 0 ] && grep -q 'Operation not permitted' "$TMP/variant.err" || die "the variant was not denied (exit $rc)"
info "denied with EPERM (exit $rc). The profile has no flags, so the kernel logged nothing:"
info "GET /api/v1/violations: $(get /api/v1/violations | json 'd => d.items.length') items"

step "see denials: the profile with the log flag (--log-denied)"
# shellcheck disable=SC2086
$SA_CLI profile --db "$TMP/db/seccomp-auditor.db" --namespace "$NS" --pod "$POD" --baseline "$BASELINE" --log-denied >"$TMP/logged.json"
info "flags: $(json 'd => d.flags.join(" ")' <"$TMP/logged.json")"
run_container variant-logged "$LEARN_CGROUP" "$TMP/logged.json" "$VARIANT"
if [ "$RUNTIME" = crun ]; then
  [ "$rc" != 0 ] && grep -q 'Operation not permitted' "$TMP/variant-logged.err" || die "the variant was not denied under the flagged profile (exit $rc)"
  seen=
  for _ in $(seq 50); do
    seen=$(get /api/v1/violations | json "d => d.items.filter((v) => v.pod === '$POD').map((v) => v.syscall + ' ' + v.action + ' x' + v.count).join(', ')")
    [ -n "$seen" ] && break
    sleep 0.2
  done
  [ -n "$seen" ] || die "the denial did not show in /api/v1/violations; unattributed: $(get /api/v1/unattributed)"
  info "crun loaded the flag; the kernel logged the denial. GET /api/v1/violations for $NS/$POD: $seen"
else
  [ "$rc" != 0 ] || die "runc ran a profile with flags; this runc supports them: use it with --log-denied"
  info "runc refused the profile (exit $rc): $(tail -1 "$TMP/variant-logged.err" | sed 's/.*msg="\(.*\)"/\1/')"
  info "runc 1.1 loads no seccomp flags, so under runc a denied call is never logged; verify in complain mode instead (next step)"
fi

step "verify before enforcing: complain mode and the diff"
# shellcheck disable=SC2086
$SA_CLI profile --db "$TMP/db/seccomp-auditor.db" --namespace "$NS" --pod "$POD" --baseline "$BASELINE" --default-action log >"$TMP/complain.json"
CANARY_CGROUP=$(add_container "$NS" "$CANARY" "$CONTAINER")
info "the variant as pod $NS/$CANARY under the complain-mode profile (defaultAction SCMP_ACT_LOG): it runs, and what is new is logged"
run_container complain "$CANARY_CGROUP" "$TMP/complain.json" "$VARIANT"
[ "$rc" = 0 ] || die "the variant failed in complain mode (exit $rc)"
diff=
for _ in $(seq 50); do
  # 404 until the daemon has committed the canary's first records
  answer=$(post_json "/api/v1/namespaces/$NS/pods/$CANARY/profile/diff" "$TMP/learned.json" 2>"$TMP/diff.err") || answer='{"wouldBlock":[]}'
  diff=$(printf '%s' "$answer" | json 'd => d.wouldBlock.map((w) => w.name).join(" ")')
  case " $diff " in *" mknodat "*) break ;; esac
  sleep 0.2
done
case " $diff " in *" mknodat "*) ;; *)
  # what the daemon made of the canary's records, to tell a record not attributed from one not read
  info "last answer: $(tail -1 "$TMP/diff.err" 2>/dev/null)"
  info "the canary's syscalls: $(get "/api/v1/namespaces/$NS/pods/$CANARY/syscalls" 2>&1 | head -c 400)"
  info "unattributed: $(get "/api/v1/unattributed" 2>&1 | head -c 600)"
  die "the diff did not report mknodat (wouldBlock: $diff)" ;;
esac
info "POST /api/v1/namespaces/$NS/pods/$CANARY/profile/diff with the learned profile: wouldBlock: $diff"
