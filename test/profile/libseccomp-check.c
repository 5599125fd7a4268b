/*
 * libseccomp-check: build a seccomp filter from a profile the way runc and crun do (through
 * libseccomp), without loading it, so tests can check that libseccomp accepts a learned profile.
 *
 *   libseccomp-check errno|log ARCH... -- NAME...
 *
 * ARCH is a libseccomp architecture name (x86_64, x86, x32, aarch64, ...: SCMP_ARCH_* lower-cased
 * without the prefix). Like runc, every NAME is resolved with seccomp_syscall_resolve_name (which
 * gives pseudo-numbers for names other ABIs have) and added as one SCMP_ACT_ALLOW rule; unlike
 * runc, which skips unknown names with a debug log, an unknown name is reported and fails the run.
 * The filter is finally compiled to BPF (to /dev/null). Exit 0: accepted; 1: rejected, with one
 * line per problem on stderr.
 *
 * libseccomp's headers may be missing where the library is installed, so the few declarations
 * used are written out here (values from seccomp.h); link with the library's path.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef void *scmp_filter_ctx;
extern scmp_filter_ctx seccomp_init(uint32_t def_action);
extern void seccomp_release(scmp_filter_ctx ctx);
extern uint32_t seccomp_arch_resolve_name(const char *arch_name);
extern int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token);
extern int seccomp_syscall_resolve_name(const char *name);
extern int seccomp_rule_add(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt, ...);
extern int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd);

#define SCMP_ACT_ALLOW 0x7fff0000U
#define SCMP_ACT_LOG 0x7ffc0000U
#define SCMP_ACT_ERRNO(x) (0x00050000U | ((x) & 0x0000ffffU))
#define NR_SCMP_ERROR (-1)
#define EEXIST_ 17

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: libseccomp-check errno|log ARCH... -- NAME...\n");
    return 2;
  }
  uint32_t def = strcmp(argv[1], "log") == 0 ? SCMP_ACT_LOG : SCMP_ACT_ERRNO(1);
  scmp_filter_ctx ctx = seccomp_init(def);
  if (ctx == NULL) {
    fprintf(stderr, "seccomp_init failed\n");
    return 1;
  }
  int bad = 0, i = 2;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    uint32_t token = seccomp_arch_resolve_name(argv[i]);
    if (token == 0) {
      fprintf(stderr, "arch %s: unknown to libseccomp\n", argv[i]);
      bad++;
      continue;
    }
    int rc = seccomp_arch_add(ctx, token);
    if (rc != 0 && rc != -EEXIST_) {
      fprintf(stderr, "arch %s: seccomp_arch_add failed (%d)\n", argv[i], rc);
      bad++;
    }
  }
  for (i++; i < argc; i++) {
    int nr = seccomp_syscall_resolve_name(argv[i]);
    if (nr == NR_SCMP_ERROR) {
      fprintf(stderr, "syscall %s: unknown to libseccomp\n", argv[i]);
      bad++;
      continue;
    }
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc != 0) {
      fprintf(stderr, "syscall %s: seccomp_rule_add failed (%d)\n", argv[i], rc);
      bad++;
    }
  }
  int fd = open("/dev/null", O_WRONLY);
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc != 0) {
    fprintf(stderr, "seccomp_export_bpf failed (%d)\n", rc);
    bad++;
  }
  close(fd);
  seccomp_release(ctx);
  return bad == 0 ? 0 : 1;
}
