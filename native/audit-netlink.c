/*
 * The kernel's audit multicast group (NETLINK_AUDIT, group AUDIT_NLGRP_READLOG) for Node, which
 * has no netlink sockets. Kept to what the audit source needs, with no libuv handles: a receive
 * thread of the addon's own empties the socket into a ring, and the JavaScript side takes from
 * the ring waiting at most a few milliseconds, so a stopping worker never leaves a handle behind
 * for the loop to touch after the socket is gone (the npm package `netlink` crashed the process
 * that way; here close() and the environment's cleanup hook stop and join the thread), and every
 * receive error (ENOBUFS above all) reaches the caller as a count, not an event that may be missed.
 *
 * Exports:
 *   open(rcvbufBytes, ringBytes)    -> { handle, rcvbuf, ring, forced, inode }  (throws { code, syscall })
 *   read(handle, buf, stats, waitMs) -> bytes of netlink messages moved into buf
 *   close(handle)
 *   canary(syscallNr)           -> null | "error text"
 *   status()                    -> { enabled, failure, pid, rateLimit, backlogLimit, lost, backlog }
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef AUDIT_NLGRP_READLOG
#define AUDIT_NLGRP_READLOG 1
#endif

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp-auditor's audit addon knows x86_64 and aarch64"
#endif

/* the largest audit record the kernel sends (MAX_AUDIT_MESSAGE_LENGTH) plus its header, rounded up */
#define MAX_DATAGRAM 9216

/* stats slots (a Float64Array the caller keeps): counts since open */
enum { ST_MESSAGES, ST_OVERRUNS, ST_FOREIGN, ST_TRUNCATED, ST_SLOTS };

#define CHECK(call) do { if ((call) != napi_ok) return NULL; } while (0)

static napi_value throw_errno(napi_env env, int err, const char *syscall_name, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s (%s)", what, strerror(err), syscall_name);
  napi_value msg, code, error, sys;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  const char *name = err == EPERM ? "EPERM" : err == EACCES ? "EACCES" : err == EPROTONOSUPPORT ? "EPROTONOSUPPORT"
    : err == EAFNOSUPPORT ? "EAFNOSUPPORT" : err == ECONNREFUSED ? "ECONNREFUSED" : err == EAGAIN ? "EAGAIN"
    : err == EINVAL ? "EINVAL" : err == ENOBUFS ? "ENOBUFS" : err == EBADF ? "EBADF" : "EIO";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, syscall_name, NAPI_AUTO_LENGTH, &sys);
  napi_create_error(env, code, msg, &error);
  napi_set_named_property(env, error, "code", code);
  napi_set_named_property(env, error, "syscall", sys);
  napi_throw(env, error);
  return NULL;
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

static napi_value set_num(napi_env env, napi_value obj, const char *key, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, obj, key, v);
  return obj;
}

/*
 * One open socket and the thread that empties it. The kernel charges each queued record at its
 * buffer's true size (832 bytes for a ~200-byte record, measured), and an unprivileged socket gets
 * at most twice net.core.rmem_max: ~10 000 records with this machine's 4 MiB (the kernel's default
 * is 208 KiB: ~500), ~150 ms of a fork burst.
 * So a thread of its own does nothing but move records from the socket into a ring here, at
 * their own size (four times as many per byte), and the JavaScript thread takes them from the
 * ring at its pace. The receive thread inherits the creating thread's nice value.
 */
struct reader {
  int fd;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t data;   /* the ring gained records */
  pthread_cond_t space;  /* the ring has room again */
  uint8_t *ring;
  size_t cap;            /* a multiple of 4: a record's length field never wraps */
  uint64_t head, tail;   /* bytes written and taken, ever: used = head - tail */
  int stop;
  int err;               /* a receive error that ended the thread, 0 if none */
  double stats[ST_SLOTS];
  napi_env env;
  int hooked;
};

static void *receive_thread(void *arg) {
  struct reader *r = arg;
  uint8_t datagram[MAX_DATAGRAM];
  for (;;) {
    pthread_mutex_lock(&r->mu);
    int stop = r->stop;
    pthread_mutex_unlock(&r->mu);
    if (stop) break;
    struct pollfd p = { .fd = r->fd, .events = POLLIN };
    /* woken at least every 100 ms to see the stop flag */
    if (poll(&p, 1, 100) <= 0) continue;
    for (;;) {
      struct sockaddr_nl from;
      struct iovec iov = { .iov_base = datagram, .iov_len = sizeof datagram };
      struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
      ssize_t n = recvmsg(r->fd, &msg, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {
          /* the socket overflowed: the kernel dropped messages for it (counted in its table) */
          pthread_mutex_lock(&r->mu);
          r->stats[ST_OVERRUNS]++;
          pthread_mutex_unlock(&r->mu);
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        pthread_mutex_lock(&r->mu);
        r->err = errno;
        r->stop = 1;
        pthread_cond_broadcast(&r->data);
        pthread_mutex_unlock(&r->mu);
        return NULL;
      }
      /* only the kernel's messages (port id 0): with CAP_NET_ADMIN a process can send to the group */
      int foreign = msg.msg_namelen < sizeof from || from.nl_pid != 0;
      int truncated = (msg.msg_flags & MSG_TRUNC) != 0;
      pthread_mutex_lock(&r->mu);
      if (foreign) r->stats[ST_FOREIGN]++;
      else if (truncated) r->stats[ST_TRUNCATED]++;
      else {
        size_t off = 0;
        while (off + NLMSG_HDRLEN <= (size_t)n) {
          struct nlmsghdr *h = (struct nlmsghdr *)(datagram + off);
          if (h->nlmsg_len < NLMSG_HDRLEN || off + h->nlmsg_len > (size_t)n) break;
          size_t need = NLMSG_ALIGN(h->nlmsg_len);
          /* a full ring holds the socket unread, and the kernel counts what it then drops */
          while (r->cap - (size_t)(r->head - r->tail) < need && !r->stop) pthread_cond_wait(&r->space, &r->mu);
          if (r->stop) break;
          size_t at = (size_t)(r->head % r->cap), first = need < r->cap - at ? need : r->cap - at;
          size_t have = h->nlmsg_len;
          /* copy the message and zero its padding, across the ring's end when it wraps */
          uint8_t padded[MAX_DATAGRAM];
          memcpy(padded, datagram + off, have);
          memset(padded + have, 0, need - have);
          memcpy(r->ring + at, padded, first);
          if (first < need) memcpy(r->ring, padded + first, need - first);
          r->head += need;
          r->stats[ST_MESSAGES]++;
          off += need;
        }
        pthread_cond_signal(&r->data);
      }
      pthread_mutex_unlock(&r->mu);
    }
  }
  return NULL;
}

static void stop_reader(struct reader *r) {
  if (r->fd < 0) return;
  pthread_mutex_lock(&r->mu);
  r->stop = 1;
  pthread_cond_broadcast(&r->space);
  pthread_cond_broadcast(&r->data);
  pthread_mutex_unlock(&r->mu);
  pthread_join(r->thread, NULL);
  close(r->fd);
  r->fd = -1;
  free(r->ring);
  r->ring = NULL;
}

/* a worker thread that ends without close() (terminate()) must not leave a thread behind */
static void env_cleanup(void *arg) {
  struct reader *r = arg;
  r->hooked = 0;
  stop_reader(r);
}

static void finalize_reader(napi_env env, void *data, void *hint) {
  (void)hint;
  struct reader *r = data;
  if (r->hooked) napi_remove_env_cleanup_hook(env, env_cleanup, r);
  stop_reader(r);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->data);
  pthread_cond_destroy(&r->space);
  free(r);
}

static struct reader *reader_of(napi_env env, napi_value v) {
  struct reader *r = NULL;
  if (napi_get_value_external(env, v, (void **)&r) != napi_ok) return NULL;
  return r;
}

/* open(rcvbufBytes, ringBytes) */
static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t want = 0, ring_bytes = 0;
  if (argc < 2 || get_int(env, argv[0], &want) != 0 || get_int(env, argv[1], &ring_bytes) != 0 || ring_bytes < 65536) {
    napi_throw_type_error(env, NULL, "open(rcvbufBytes, ringBytes >= 65536): numbers are required");
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT);
  if (fd < 0) return throw_errno(env, errno, "socket", "cannot open an audit netlink socket");
  struct sockaddr_nl local;
  memset(&local, 0, sizeof local);
  local.nl_family = AF_NETLINK;
  if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "bind", "cannot bind the audit netlink socket");
  }
  int group = AUDIT_NLGRP_READLOG;
  if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "setsockopt(NETLINK_ADD_MEMBERSHIP)", "cannot join the kernel's audit multicast group");
  }
  /* past rmem_max when CAP_NET_ADMIN allows (SO_RCVBUFFORCE), else what SO_RCVBUF grants */
  int forced = 0;
  if (want > 0) {
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) == 0) forced = 1;
    else setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
  }
  int got = 0;
  socklen_t len = sizeof got;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
  struct stat st;
  double inode = fstat(fd, &st) == 0 ? (double)st.st_ino : -1;

  struct reader *r = calloc(1, sizeof *r);
  uint8_t *ring = r == NULL ? NULL : malloc((size_t)ring_bytes & ~(size_t)3);
  if (r == NULL || ring == NULL) {
    free(r);
    close(fd);
    return throw_errno(env, ENOMEM, "malloc", "cannot allocate the audit record ring");
  }
  r->fd = fd;
  r->ring = ring;
  r->cap = (size_t)ring_bytes & ~(size_t)3;
  r->env = env;
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->data, NULL);
  pthread_cond_init(&r->space, NULL);
  int err = pthread_create(&r->thread, NULL, receive_thread, r);
  if (err != 0) {
    free(ring);
    free(r);
    close(fd);
    return throw_errno(env, err, "pthread_create", "cannot start the audit receive thread");
  }
  napi_value handle;
  if (napi_create_external(env, r, finalize_reader, NULL, &handle) != napi_ok) {
    stop_reader(r);
    free(r);
    return NULL;
  }
  if (napi_add_env_cleanup_hook(env, env_cleanup, r) == napi_ok) r->hooked = 1;
  napi_value result;
  CHECK(napi_create_object(env, &result));
  napi_set_named_property(env, result, "handle", handle);
  set_num(env, result, "rcvbuf", got);
  set_num(env, result, "ring", (double)r->cap);
  set_num(env, result, "inode", inode);
  napi_value b;
  napi_get_boolean(env, forced, &b);
  napi_set_named_property(env, result, "forced", b);
  return result;
}

/*
 * read(handle, buf, stats, waitMs): waits up to waitMs for a record, then moves whole records
 * from the ring into `buf` (each a kernel message: nlmsghdr + body, at a 4-byte boundary) while
 * they fit; returns the bytes moved. `stats` gets the receive thread's counts since open.
 */
static napi_value Read(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct reader *r = argc < 4 ? NULL : reader_of(env, argv[0]);
  int32_t wait_ms = 0;
  uint8_t *buf = NULL;
  size_t cap = 0;
  void *stats_data = NULL;
  size_t stats_len = 0;
  napi_typedarray_type stats_type;
  if (r == NULL || napi_get_buffer_info(env, argv[1], (void **)&buf, &cap) != napi_ok ||
      napi_get_typedarray_info(env, argv[2], &stats_type, &stats_len, &stats_data, NULL, NULL) != napi_ok ||
      stats_type != napi_float64_array || stats_len < ST_SLOTS || get_int(env, argv[3], &wait_ms) != 0) {
    napi_throw_type_error(env, NULL, "read(handle, buffer, Float64Array(4), waitMs)");
    return NULL;
  }
  if (r->fd < 0) {
    napi_throw_error(env, "EBADF", "the audit socket is closed");
    return NULL;
  }
  double *stats = stats_data;
  pthread_mutex_lock(&r->mu);
  if (r->head == r->tail && wait_ms > 0 && !r->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
    while (r->head == r->tail && !r->stop) {
      if (pthread_cond_timedwait(&r->data, &r->mu, &until) == ETIMEDOUT) break;
    }
  }
  size_t used = 0;
  while (r->tail + used < r->head) {
    size_t at = (size_t)((r->tail + used) % r->cap);
    uint32_t len;
    memcpy(&len, r->ring + at, sizeof len);
    size_t need = NLMSG_ALIGN(len);
    if (used + need > cap) break;
    size_t first = need < r->cap - at ? need : r->cap - at;
    memcpy(buf + used, r->ring + at, first);
    if (first < need) memcpy(buf + used + first, r->ring, need - first);
    used += need;
  }
  r->tail += used;
  if (used > 0) pthread_cond_signal(&r->space);
  for (int i = 0; i < ST_SLOTS; i++) stats[i] = r->stats[i];
  int err = r->err;
  pthread_mutex_unlock(&r->mu);
  if (err != 0 && used == 0) return throw_errno(env, err, "recvmsg", "reading the audit netlink socket failed");
  napi_value result;
  CHECK(napi_create_double(env, (double)used, &result));
  return result;
}

static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct reader *r = argc < 1 ? NULL : reader_of(env, argv[0]);
  if (r == NULL) return NULL;
  if (r->hooked) {
    napi_remove_env_cleanup_hook(env, env_cleanup, r);
    r->hooked = 0;
  }
  stop_reader(r);
  return NULL;
}

/*
 * The canary: a thread of this process loads a filter that logs one syscall and makes it, so
 * the kernel writes one seccomp record (pid = this process, comm "sa-canary"). Filters and
 * no_new_privs belong to the thread that sets them, and the thread ends right after: the rest
 * of the process runs unfiltered. Seen on the group, the record proves the whole chain: seccomp
 * logging (actions_logged), audit not disabled at boot, this socket in the namespace the kernel
 * sends to, and the capability to join it.
 */
struct canary_job {
  int nr;
  int err;
  const char *step;
};

static void *canary_thread(void *arg) {
  struct canary_job *job = arg;
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)job->nr, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { .len = sizeof filter / sizeof filter[0], .filter = filter };
  prctl(PR_SET_NAME, "sa-canary", 0, 0, 0);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { job->err = errno; job->step = "prctl(PR_SET_NO_NEW_PRIVS)"; return NULL; }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) { job->err = errno; job->step = "seccomp(SECCOMP_SET_MODE_FILTER)"; return NULL; }
  syscall(job->nr);
  return NULL;
}

static napi_value Canary(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t nr = -1;
  if (argc < 1 || get_int(env, argv[0], &nr) != 0 || nr < 0) {
    napi_throw_type_error(env, NULL, "canary(syscallNr)");
    return NULL;
  }
  struct canary_job job = { .nr = nr, .err = 0, .step = NULL };
  pthread_t thread;
  int err = pthread_create(&thread, NULL, canary_thread, &job);
  if (err == 0) err = pthread_join(thread, NULL);
  napi_value result;
  if (err != 0) {
    char text[160];
    snprintf(text, sizeof text, "cannot start the canary thread: %s", strerror(err));
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result);
  } else if (job.err != 0) {
    char text[200];
    snprintf(text, sizeof text, "%s: %s", job.step, strerror(job.err));
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result);
  } else {
    napi_get_null(env, &result);
  }
  return result;
}

/*
 * status(): the kernel's audit counters (AUDIT_GET), asked on a socket of its own. The kernel
 * answers only a caller with CAP_AUDIT_CONTROL in the initial pid namespace; the error says so.
 */
static napi_value Status(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (fd < 0) return throw_errno(env, errno, "socket", "cannot open an audit netlink socket");
  struct timeval tv = { .tv_sec = 1, .tv_usec = 0 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct {
    struct nlmsghdr h;
    uint8_t pad[16];
  } req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_len = NLMSG_HDRLEN;
  req.h.nlmsg_type = AUDIT_GET;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.h.nlmsg_seq = 1;
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "sendto(AUDIT_GET)", "cannot ask the kernel for its audit status");
  }
  uint8_t reply[8192];
  for (int tries = 0; tries < 4; tries++) {
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) {
      int e = errno;
      if (e == EINTR) continue;
      close(fd);
      return throw_errno(env, e, "recv(AUDIT_GET)", "no audit status from the kernel");
    }
    struct nlmsghdr *h = (struct nlmsghdr *)reply;
    if (!NLMSG_OK(h, (size_t)n)) break;
    if (h->nlmsg_type == NLMSG_ERROR) {
      struct nlmsgerr *e = NLMSG_DATA(h);
      if (e->error == 0) continue; /* the ack may come first */
      close(fd);
      return throw_errno(env, -e->error, "AUDIT_GET", "the kernel refused to report its audit status");
    }
    if (h->nlmsg_type == AUDIT_GET && h->nlmsg_len >= NLMSG_LENGTH(offsetof(struct audit_status, backlog) + sizeof(uint32_t))) {
      struct audit_status s;
      memset(&s, 0, sizeof s);
      size_t have = h->nlmsg_len - NLMSG_HDRLEN;
      memcpy(&s, NLMSG_DATA(h), have < sizeof s ? have : sizeof s);
      close(fd);
      napi_value result;
      CHECK(napi_create_object(env, &result));
      set_num(env, result, "enabled", s.enabled);
      set_num(env, result, "failure", s.failure);
      set_num(env, result, "pid", s.pid);
      set_num(env, result, "rateLimit", s.rate_limit);
      set_num(env, result, "backlogLimit", s.backlog_limit);
      set_num(env, result, "lost", s.lost);
      set_num(env, result, "backlog", s.backlog);
      return result;
    }
  }
  close(fd);
  return throw_errno(env, EIO, "recv(AUDIT_GET)", "the kernel's audit status answer was not understood");
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "open", NULL, Open, NULL, NULL, NULL, napi_default, NULL },
    { "read", NULL, Read, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, Close, NULL, NULL, NULL, napi_default, NULL },
    { "canary", NULL, Canary, NULL, NULL, NULL, napi_default, NULL },
    { "status", NULL, Status, NULL, NULL, NULL, napi_default, NULL },
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE_INIT() {
  return Init(env, exports);
}
