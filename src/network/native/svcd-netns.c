// svcd-netns: a network namespace file in one process (issue 13). It makes a new netns, turns IPv6 off in it before
// any interface is added, brings its loopback up when asked, and bind-mounts it onto <file> (an existing empty file),
// as `ip netns add` does. It replaces unshare(1) → sh → ip(8), three processes per container. Built by
// scripts/setup.sh; without it, NetnsFiles runs those three.
//
// usage: svcd-netns <file> [--lo-up]
// Exit 0 once the namespace is mounted on <file>; otherwise 1 with the failed step on stderr (the caller removes the
// file), 2 for a usage error.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what) {
  fprintf(stderr, "svcd-netns: %s: %s\n", what, strerror(errno));
  return 1;
}

// Writes 1 to conf/<which>/disable_ipv6 of this process's netns; a kernel without IPv6 has no such file, which is fine.
static int ipv6_off(const char *which) {
  char path[64];
  snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", which);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  ssize_t n = write(fd, "1", 1);
  int saved = errno;
  close(fd);
  errno = saved;
  return n == 1 ? 0 : -1;
}

static int loopback_up(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP;
    rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

int main(int argc, char **argv) {
  int lo_up = argc == 3 && strcmp(argv[2], "--lo-up") == 0;
  if (argc < 2 || argc > 3 || (argc == 3 && !lo_up) || argv[1][0] != '/') {
    fprintf(stderr, "usage: svcd-netns <absolute file> [--lo-up]\n");
    return 2;
  }
  if (unshare(CLONE_NEWNET) != 0) return fail("unshare(CLONE_NEWNET)");
  if (ipv6_off("all") != 0 || ipv6_off("default") != 0) return fail("turning IPv6 off");
  if (lo_up && loopback_up() != 0) return fail("bringing lo up");
  if (mount("/proc/self/ns/net", argv[1], NULL, MS_BIND, NULL) != 0) return fail("bind-mounting the netns onto the file");
  return 0;
}
