/*
 * seccomp-allow: run a program under an allow-list seccomp filter, as systemd applies a unit's
 * SystemCallFilter= with SystemCallErrorNumber=EPERM.
 *
 *   seccomp-allow NAMES-FILE -- PROG ARGS...
 *
 * NAMES-FILE holds syscall names, one per line. Every name libseccomp resolves is allowed for the
 * native architecture; every other syscall fails with EPERM; other architectures are killed (as
 * SystemCallArchitectures=native does). Names libseccomp does not know (it returns __NR_SCMP_ERROR)
 * are skipped, and so are names that do not exist on this architecture (libseccomp's negative
 * pseudo-numbers, whose rules it refuses on a native-only filter): systemd cannot allow them either.
 * Both lists go to stderr as one line each (`seccomp-allow: unknown: ...`, `seccomp-allow: not
 * native: ...`) before the program starts. The filter survives execvp() and is inherited by
 * children. Failures exit with 125.
 *
 * libseccomp's headers may be missing where the library is installed, so the few declarations
 * used are written out here (values from seccomp.h, as in test/profile/libseccomp-check.c); link
 * with the library's path.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void *scmp_filter_ctx;
extern scmp_filter_ctx seccomp_init(uint32_t def_action);
extern int seccomp_syscall_resolve_name(const char *name);
extern int seccomp_rule_add(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt, ...);
extern int seccomp_load(const scmp_filter_ctx ctx);

#define SCMP_ACT_ALLOW 0x7fff0000U
#define SCMP_ACT_ERRNO(x) (0x00050000U | ((x) & 0x0000ffffU))
#define NR_SCMP_ERROR (-1)
#define EPERM_ 1
#define FAIL 125

int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: seccomp-allow NAMES-FILE -- PROG ARGS...\n");
    return FAIL;
  }
  FILE *f = fopen(argv[1], "r");
  if (f == NULL) {
    perror("seccomp-allow: names file");
    return FAIL;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM_));
  if (ctx == NULL) {
    fprintf(stderr, "seccomp-allow: seccomp_init failed\n");
    return FAIL;
  }
  static char unknown[65536], foreign[65536];
  char line[256];
  int allowed = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0') continue;
    int nr = seccomp_syscall_resolve_name(line);
    char *list = NULL;
    if (nr == NR_SCMP_ERROR) {
      list = unknown;
    } else if (nr < 0 || seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0) {
      list = foreign;
    } else {
      allowed++;
    }
    if (list != NULL && strlen(list) + strlen(line) + 2 < sizeof unknown) {
      strcat(list, " ");
      strcat(list, line);
    }
  }
  fclose(f);
  fprintf(stderr, "seccomp-allow: allowed %d\nseccomp-allow: unknown:%s\nseccomp-allow: not native:%s\n", allowed, unknown, foreign);
  /* libseccomp sets no_new_privs itself before loading (SCMP_FLTATR_CTL_NNP defaults to on) */
  int rc = seccomp_load(ctx);
  if (rc != 0) {
    fprintf(stderr, "seccomp-allow: seccomp_load failed (%d)\n", rc);
    return FAIL;
  }
  execvp(argv[3], argv + 3);
  perror("seccomp-allow: execvp");
  return FAIL;
}
