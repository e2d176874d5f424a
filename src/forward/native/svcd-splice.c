// svcd-splice: the data path of one TCP forward (issue 13). It accepts on the listening socket it inherits as fd 3
// (an `up` listener in the host netns, or a host service's listener in the hub), connects each client to HOST:PORT
// in its own netns, and moves the bytes with splice(2) through a pipe per direction: no user-space copy, one process
// per listener, never one per connection. Node has no splice, which is why this is C (src/forward/splice-forward.ts
// starts it; scripts/setup.sh builds it into build/, which is not committed).
//
// Semantics are those of the Node path it replaces (socket-pipe.ts): backpressure (a full pipe stops reading), a FIN
// becomes a FIN (shutdown(SHUT_WR) once the pipe drained), a reset or error on either side resets the other
// (SO_LINGER 0), a refused or timed-out connect resets the client. fd 0 is a pipe from the engine: EOF there (the
// engine stopped the forward, or died) resets every connection and exits; so does the parent's death (PDEATHSIG).
// stdout carries one line per event: "ready" once, then "dial-failed <ERRNO NAME>" per failed connect.
//
// usage: svcd-splice --hub <netns path> --connect <host> <port> [--timeout-ms <n>]
//   --hub only names the hub this forward serves (ps, leak checks); a host name is resolved per connection.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_FD 3
#define PIPE_WANT (1 << 20)  // asked for; the kernel may give less (pipe-max-size, per-user pipe pages)
#define FDS_PER_CONN 6

enum side { A, B };  // A: the accepted client, B: the upstream connection

struct conn;
struct end {
  struct conn *c;
  enum side side;
  int fd;
  uint32_t events;  // what epoll watches now
};
struct dir {        // one direction: from → pipe → to
  int pipe[2];
  size_t cap, full;
  bool eof, shut;
};
struct conn {
  struct end end[2];
  struct dir dir[2];  // dir[A]: A → B, dir[B]: B → A
  bool connecting, dead;
  struct addrinfo *addrs, *next;
  int64_t deadline_ms;
  struct conn *prev, *nextc;
};

static const char *host, *port;
static int64_t timeout_ms = 10000;
static int ep;
static struct conn *conns, *graveyard;  // graveyard: finished this batch, freed after it
static long nconns, nconnecting, max_conns;
static bool accepting = true, listener_watched;
static struct end listener_end = {.fd = LISTEN_FD}, control_end = {.fd = 0};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void event(const char *what, int err) {
  const char *name = err ? strerrorname_np(err) : NULL;
  printf("%s%s%s\n", what, name ? " " : "", name ? name : "");
  fflush(stdout);
}

static void die(const char *what) {
  fprintf(stderr, "svcd-splice: %s: %s\n", what, strerror(errno));
  exit(70);
}

static void watch(struct end *e, uint32_t events) {
  if (e->fd < 0 || e->events == events) return;
  struct epoll_event ev = {.events = events, .data.ptr = e};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, e->fd, &ev) < 0) die("epoll_ctl");
  e->events = events;
}

static void add(struct end *e, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = e};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, e->fd, &ev) < 0) die("epoll_ctl");
  e->events = events;
}

static void reset_fd(int fd) {
  if (fd < 0) return;
  struct linger l = {.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

static void set_listening(bool on) {
  if (on == listener_watched) return;
  watch(&listener_end, on ? EPOLLIN : 0);
  listener_watched = on;
}

// Ends a connection; `reset` marks which sockets get an RST instead of a FIN (bit per side). Its memory is freed
// after the current batch of events, which may still name it.
static void finish(struct conn *c, int reset) {
  if (c->dead) return;
  c->dead = true;
  if (c->connecting) nconnecting--;
  for (int s = A; s <= B; s++) {
    if (reset & (1 << s)) reset_fd(c->end[s].fd);
    else if (c->end[s].fd >= 0) close(c->end[s].fd);
    for (int i = 0; i < 2; i++)
      if (c->dir[s].pipe[i] >= 0) close(c->dir[s].pipe[i]);
  }
  if (c->addrs) freeaddrinfo(c->addrs);
  if (c->prev) c->prev->nextc = c->nextc;
  else conns = c->nextc;
  if (c->nextc) c->nextc->prev = c->prev;
  c->nextc = graveyard;
  graveyard = c;
  nconns--;
  if (accepting && nconns < max_conns) set_listening(true);
}

// Moves what it can from `from` to `to`; -1: `from` failed, -2: `to` failed.
static int pump(struct dir *d, int from, int to) {
  for (;;) {
    bool moved = false;
    if (!d->eof && d->full < d->cap) {
      ssize_t n = splice(from, NULL, d->pipe[1], NULL, d->cap - d->full, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) d->full += (size_t)n, moved = true;
      else if (n == 0) d->eof = true;
      else if (errno != EAGAIN && errno != EINTR) return -1;
    }
    if (d->full > 0) {
      ssize_t n = splice(d->pipe[0], NULL, to, NULL, d->full, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) d->full -= (size_t)n, moved = true;
      else if (n < 0 && errno != EAGAIN && errno != EINTR) return -2;
    }
    if (!moved) break;
  }
  if (d->eof && d->full == 0 && !d->shut) {
    if (shutdown(to, SHUT_WR) < 0 && errno != ENOTCONN) return -2;
    d->shut = true;
  }
  return 0;
}

static void run(struct conn *c) {
  for (int s = A; s <= B; s++) {
    int other = 1 - s, r = pump(&c->dir[s], c->end[s].fd, c->end[other].fd);
    if (r == -1) return finish(c, 1 << other);  // `s` failed: reset the other side
    if (r == -2) return finish(c, 1 << s);
  }
  if (c->dir[A].shut && c->dir[B].shut) return finish(c, 0);
  for (int s = A; s <= B; s++) {
    struct dir *in = &c->dir[s], *out = &c->dir[1 - s];
    uint32_t ev = 0;
    if (!in->eof && in->full < in->cap) ev |= EPOLLIN;
    if (out->full > 0) ev |= EPOLLOUT;
    watch(&c->end[s], ev);
  }
}

static int make_pipe(struct dir *d) {
  if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) < 0) return -1;
  fcntl(d->pipe[1], F_SETPIPE_SZ, PIPE_WANT);  // best effort
  int cap = fcntl(d->pipe[1], F_GETPIPE_SZ);
  d->cap = cap > 0 ? (size_t)cap : 65536;
  return 0;
}

static void connected(struct conn *c) {
  c->connecting = false;
  nconnecting--;
  freeaddrinfo(c->addrs);
  c->addrs = c->next = NULL;
  int one = 1;
  setsockopt(c->end[A].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(c->end[B].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (make_pipe(&c->dir[A]) < 0 || make_pipe(&c->dir[B]) < 0) {
    event("dial-failed", errno);
    return finish(c, 3);
  }
  run(c);
}

// Starts a connect to the next address; false when none is left (`err` is the last failure).
static bool dial_next(struct conn *c, int *err) {
  while (c->next) {
    struct addrinfo *ai = c->next;
    c->next = ai->ai_next;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { *err = errno; continue; }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
      *err = errno;
      close(fd);
      continue;
    }
    if (c->end[B].fd >= 0) close(c->end[B].fd);
    c->end[B].fd = fd;
    add(&c->end[B], EPOLLOUT);
    return true;
  }
  return false;
}

static void dial_result(struct conn *c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->end[B].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err == 0) return connected(c);
  close(c->end[B].fd);
  c->end[B].fd = -1;
  if (dial_next(c, &err)) return;
  event("dial-failed", err);
  finish(c, 1 << A);
}

static void accept_all(void) {
  while (nconns < max_conns) {
    int fd = accept4(LISTEN_FD, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        set_listening(false);  // until a connection ends
        return;
      }
      die("accept");
    }
    struct conn *c = calloc(1, sizeof *c);
    if (!c) { reset_fd(fd); set_listening(false); return; }
    for (int s = A; s <= B; s++) {
      c->end[s] = (struct end){.c = c, .side = s, .fd = -1};
      c->dir[s].pipe[0] = c->dir[s].pipe[1] = -1;
    }
    c->end[A].fd = fd;
    c->connecting = true;
    nconnecting++;
    c->nextc = conns;
    if (conns) conns->prev = c;
    conns = c;
    nconns++;
    add(&c->end[A], 0);  // nothing is read before the upstream exists; errors still wake us
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG};
    int err = EHOSTUNREACH, gai = getaddrinfo(host, port, &hints, &c->addrs);
    if (gai != 0) err = gai == EAI_SYSTEM ? errno : EHOSTUNREACH;
    c->next = c->addrs;
    c->deadline_ms = now_ms() + timeout_ms;
    if (!dial_next(c, &err)) {
      event("dial-failed", err);
      finish(c, 1 << A);
    }
  }
  set_listening(false);
}

static void stop_all(void) {
  while (conns) finish(conns, 3);
  exit(0);
}

static int next_timeout(void) {
  if (nconnecting == 0) return -1;
  int64_t first = -1, now = now_ms();
  for (struct conn *c = conns, *n; c; c = n) {
    n = c->nextc;
    if (!c->connecting) continue;
    if (c->deadline_ms <= now) {
      event("dial-failed", ETIMEDOUT);
      finish(c, 1 << A);
      continue;
    }
    if (first < 0 || c->deadline_ms < first) first = c->deadline_ms;
  }
  return first < 0 ? -1 : (int)(first - now);
}

static void usage(void) {
  fprintf(stderr, "usage: svcd-splice --hub <netns path> --connect <host> <port> [--timeout-ms <n>]\n");
  exit(2);
}

static void parse(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--hub") && i + 1 < argc) i++;
    else if (!strcmp(argv[i], "--connect") && i + 2 < argc) host = argv[++i], port = argv[++i];
    else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < 1 || v > 3600000) usage();
      timeout_ms = v;
    } else usage();
  }
  if (!host || !*host || !port) usage();
  char *end;
  long p = strtol(port, &end, 10);
  if (*end || p < 1 || p > 65535) usage();
}

int main(int argc, char **argv) {
  parse(argc, argv);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("prctl");
  signal(SIGPIPE, SIG_IGN);
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  if (getsockopt(LISTEN_FD, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM ||
      getsockopt(LISTEN_FD, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening) {
    fprintf(stderr, "svcd-splice: fd 3 is not a listening TCP socket\n");
    return 2;
  }
  fcntl(LISTEN_FD, F_SETFL, fcntl(LISTEN_FD, F_GETFL) | O_NONBLOCK);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  max_conns = ((long)rl.rlim_cur - 16) / FDS_PER_CONN;
  if (max_conns < 1) max_conns = 1;
  if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1");
  add(&listener_end, EPOLLIN);
  listener_watched = true;
  add(&control_end, EPOLLIN);
  event("ready", 0);
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(ep, evs, 64, next_timeout());
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct end *e = evs[i].data.ptr;
      if (e == &control_end) {
        char buf[64];
        ssize_t r = read(0, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) stop_all();
        continue;
      }
      if (e == &listener_end) {
        accept_all();
        continue;
      }
      struct conn *c = e->c;
      if (c->dead) continue;
      if (!c->connecting) run(c);
      else if (e->side == B) dial_result(c);
      else if (evs[i].events & (EPOLLERR | EPOLLHUP)) finish(c, 0);  // the client went before the dial ended
    }
    while (graveyard) {
      struct conn *c = graveyard;
      graveyard = c->nextc;
      free(c);
    }
  }
}
