/*
 * audit-recorder: the tests' own reader of the kernel's audit multicast group, independent of the
 * product's addon and source: joins NETLINK_AUDIT group 1 (AUDIT_NLGRP_READLOG), and writes every
 * seccomp record (netlink type 1326) from the kernel (sender port 0) to stdout as
 * `type=1326 <body>` lines, the way the test's ground-truth readers expect them.
 *
 *   audit-recorder [--rcvbuf BYTES]
 *
 * Prints `ready` on stderr once joined. On SIGTERM or SIGINT it reads what is queued, then prints
 * `# lost N` (the kernel's drop count for this socket, from /proc/net/netlink) and exits 0.
 * Failures exit 125 with a message on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static long drops_of(unsigned long inode) {
  FILE *f = fopen("/proc/net/netlink", "r");
  if (!f) return -1;
  char line[512];
  long drops = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long sk, ino;
    int eth, dump, locks;
    unsigned pid, groups;
    long rmem, wmem, d;
    if (sscanf(line, "%lx %d %u %x %ld %ld %d %d %ld %lu", &sk, &eth, &pid, &groups, &rmem, &wmem, &dump, &locks, &d, &ino) == 10 && ino == inode && eth == 9) drops = d;
  }
  fclose(f);
  return drops;
}

int main(int argc, char **argv) {
  int rcvbuf = 64 << 20;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--rcvbuf") == 0 && i + 1 < argc) rcvbuf = atoi(argv[++i]);
  }
  setpriority(PRIO_PROCESS, 0, -15);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (fd < 0) { perror("audit-recorder: socket"); return 125; }
  struct sockaddr_nl local = { .nl_family = AF_NETLINK };
  if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) { perror("audit-recorder: bind"); return 125; }
  int group = 1;
  if (setsockopt(fd, 270 /* SOL_NETLINK */, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0) { perror("audit-recorder: join"); return 125; }
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct stat st;
  fstat(fd, &st);
  long drops_before = drops_of(st.st_ino);
  struct sigaction sa = { .sa_handler = on_signal };
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  static char out[1 << 20];
  setvbuf(stdout, out, _IOFBF, sizeof out);
  fprintf(stderr, "ready\n");
  static char buf[16384];
  int quiet_polls = 0;
  for (;;) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int n = poll(&p, 1, 50);
    if (n == 0) {
      /* after SIGTERM, stop once nothing arrived for 400 ms: the kernel's queue is empty */
      if (stopping && ++quiet_polls >= 8) break;
      continue;
    }
    if (n < 0) continue;
    quiet_polls = 0;
    struct sockaddr_nl from;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
    struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t got = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (got < 0) continue; /* ENOBUFS: counted from the kernel's table at the end */
    if (from.nl_pid != 0) continue;
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (!NLMSG_OK(h, (size_t)got) || h->nlmsg_type != 1326) continue;
    size_t len = h->nlmsg_len - NLMSG_HDRLEN;
    const char *body = NLMSG_DATA(h);
    while (len > 0 && (body[len - 1] == 0 || body[len - 1] == '\n')) len--;
    fputs("type=1326 ", stdout);
    fwrite(body, 1, len, stdout);
    fputc('\n', stdout);
  }
  long drops_after = drops_of(st.st_ino);
  printf("# lost %ld\n", drops_before < 0 || drops_after < 0 ? -1 : drops_after - drops_before);
  fflush(stdout);
  return 0;
}
