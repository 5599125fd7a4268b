/*
 * seccomp-log: run a program under a seccomp filter that makes the kernel log every syscall.
 *
 *   seccomp-log [--errno NR|NAME[,...]] [--log-flag] -- PROG ARGS...
 *   seccomp-log --resolve NAME        print the native syscall number of NAME
 *
 * Every syscall returns SECCOMP_RET_LOG (allowed, and logged as an audit record of type 1326
 * with code=0x7ffc0000), except those named by --errno, which fail with EPERM. The kernel logs
 * ERRNO actions only when the filter is loaded with SECCOMP_FILTER_FLAG_LOG (--log-flag), and then
 * with code=0x50000. The filter survives execvp() and is inherited by every child, so the real-kernel
 * tests see the whole process tree of PROG. Names are accepted for a few syscalls so that tests do
 * not carry per-architecture number tables. Failures go to stderr with exit code 125, which keeps
 * them apart from the exit codes of PROG.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAIL 125
#define MAX_ERRNO_NRS 64

#if defined(__x86_64__) && !defined(__ILP32__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define NATIVE_ARCH AUDIT_ARCH_I386
#endif

struct named_nr {
  const char *name;
  long nr;
};

/* syscalls that exist under the same name on every architecture we run on */
static const struct named_nr NAMES[] = {
    {"uname", SYS_uname},         {"getcwd", SYS_getcwd},     {"getpid", SYS_getpid},
    {"getppid", SYS_getppid},     {"getuid", SYS_getuid},     {"getgid", SYS_getgid},
    {"sethostname", SYS_sethostname}, {"chdir", SYS_chdir},   {"mkdirat", SYS_mkdirat},
    {"openat", SYS_openat},       {"read", SYS_read},         {"write", SYS_write},
    {"close", SYS_close},         {"sysinfo", SYS_sysinfo},   {"times", SYS_times},
    {"getrandom", SYS_getrandom}, {"sched_yield", SYS_sched_yield}, {"fchdir", SYS_fchdir},
};

static long resolve(const char *s) {
  char *end;
  errno = 0;
  long nr = strtol(s, &end, 10);
  if (*s != '\0' && *end == '\0' && errno == 0 && nr >= 0) return nr;
  for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
    if (strcmp(NAMES[i].name, s) == 0) return NAMES[i].nr;
  return -1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: seccomp-log [--errno NR|NAME[,...]] [--log-flag] -- PROG ARGS...\n"
          "       seccomp-log --resolve NAME\n");
  exit(FAIL);
}

int main(int argc, char **argv) {
  long errno_nrs[MAX_ERRNO_NRS];
  size_t n_errno = 0;
  unsigned int flags = 0;
  int i = 1;

  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    } else if (strcmp(argv[i], "--log-flag") == 0) {
      flags |= SECCOMP_FILTER_FLAG_LOG;
    } else if (strcmp(argv[i], "--resolve") == 0 && i + 1 < argc) {
      long nr = resolve(argv[i + 1]);
      if (nr < 0) {
        fprintf(stderr, "seccomp-log: unknown syscall %s\n", argv[i + 1]);
        return FAIL;
      }
      printf("%ld\n", nr);
      return 0;
    } else if (strcmp(argv[i], "--errno") == 0 && i + 1 < argc) {
      char *list = argv[++i];
      for (char *tok = strtok(list, ","); tok != NULL; tok = strtok(NULL, ",")) {
        long nr = resolve(tok);
        if (nr < 0 || nr > 0xffff) {
          fprintf(stderr, "seccomp-log: bad syscall in --errno: %s\n", tok);
          return FAIL;
        }
        if (n_errno == MAX_ERRNO_NRS) {
          fprintf(stderr, "seccomp-log: at most %d syscalls in --errno\n", MAX_ERRNO_NRS);
          return FAIL;
        }
        errno_nrs[n_errno++] = nr;
      }
    } else {
      usage();
    }
  }
  if (i >= argc) usage();

  /*
   * Layout: [arch check] load nr, one JEQ per errno syscall (jumping to the ERRNO return at the
   * end), RET LOG, RET ERRNO. Numbers only mean something for the native ABI, so a foreign-arch
   * call (e.g. int 0x80 on x86_64) skips the comparisons and is just logged.
   */
  struct sock_filter insns[4 + MAX_ERRNO_NRS + 2];
  size_t n = 0;
#ifdef NATIVE_ARCH
  insns[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  /* jf lands on RET LOG: skip the nr load and all comparisons */
  insns[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, (unsigned char)(1 + n_errno));
#endif
  insns[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  for (size_t k = 0; k < n_errno; k++) {
    /* distance to RET ERRNO: the remaining comparisons, then RET LOG */
    unsigned char to_errno = (unsigned char)(n_errno - k - 1 + 1);
    insns[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)errno_nrs[k], to_errno, 0);
  }
  insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG);
  insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = insns};

  /* needed without CAP_SYS_ADMIN; harmless as root, and it keeps setuid binaries from escaping the filter */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    perror("seccomp-log: prctl(PR_SET_NO_NEW_PRIVS)");
    return FAIL;
  }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) != 0) {
    perror("seccomp-log: seccomp(SECCOMP_SET_MODE_FILTER)");
    return FAIL;
  }
  execvp(argv[i], &argv[i]);
  fprintf(stderr, "seccomp-log: cannot execute %s: %s\n", argv[i], strerror(errno));
  return FAIL;
}
