/*
 * loadgen: the load generator of Pants' network benchmark (bench/net/).
 *
 * Single-threaded, epoll, non-blocking sockets, loopback (127.0.0.0/8) only.
 * Every mode is bounded in time (--timeout). Prints one JSON object on
 * stdout; exits 0 when the run had no errors, 1 otherwise, 2 on bad usage.
 *
 *   gcc -O2 -o /tmp/loadgen bench/net/loadgen.c
 *
 *   loadgen pingpong --port P [--conns C] [--size B] [--warmup S] [--duration S]
 *       C connections, each sends a B-byte message and waits for the full
 *       echo (checked byte for byte) before the next. msgs/s, p50/p99 latency.
 *   loadgen stream --port P [--conns C] [--mb N] [--line L] [--crlf] [--warmup-mb W]
 *       C connections together send N MB (10^6 bytes) of L-byte lines (L
 *       counts the terminator, "\n" or with --crlf "\r\n"), then half-close;
 *       the server replies with its line count as decimal text and "\n",
 *       which is checked. A W MB warm-up on one connection runs first.
 *       MB/s and lines/s.
 *   loadgen idle --port P --pid PID [--conns C] [--settle S]
 *       Warms the server (200 connections, one echo each, closed), reads its
 *       VmRSS, opens C connections that each echo one 64-byte message and
 *       then stay idle, waits S seconds, reads VmRSS again: KiB per
 *       connection. Checks every connection still echoes afterwards.
 *   loadgen churn --port P [--conns C]
 *       Opens C concurrent connections, echoes one 64-byte message on each,
 *       holds them all, then closes them all. Zero errors expected.
 *
 * Common options: --host 127.0.0.1 (must be in 127.0.0.0/8), --timeout S
 * (default 60), --inflight K (most connections opening at once, default 256).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* ---- options ------------------------------------------------------------ */

static const char *opt_mode = NULL;
static const char *opt_host = "127.0.0.1";
static int opt_port = 0;
static int opt_conns = 1;
static int opt_size = 64;
static double opt_warmup = 1.0;
static double opt_duration = 3.0;
static double opt_mb = 100.0;
static double opt_warmup_mb = 20.0;
static int opt_line = 40;
static int opt_crlf = 0;
static int opt_pid = 0;
static double opt_settle = 1.0;
static double opt_timeout = 60.0;
static int opt_inflight = 256;
static int opt_sources = 1;

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen pingpong|stream|idle|churn --port P [--conns C] [--size B]\n"
          "  [--warmup S] [--duration S] [--mb N] [--warmup-mb W] [--line L] [--crlf]\n"
          "  [--pid PID] [--settle S] [--timeout S] [--inflight K] [--sources N]\n"
          "  [--host 127.x.y.z]\n");
  exit(2);
}

static void parse(int argc, char **argv) {
  if (argc < 2) usage();
  opt_mode = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED() \
  do { \
    if (v == NULL) usage(); \
    i++; \
  } while (0)
    if (!strcmp(a, "--crlf")) opt_crlf = 1;
    else if (!strcmp(a, "--host")) { NEED(); opt_host = v; }
    else if (!strcmp(a, "--port")) { NEED(); opt_port = atoi(v); }
    else if (!strcmp(a, "--conns")) { NEED(); opt_conns = atoi(v); }
    else if (!strcmp(a, "--size")) { NEED(); opt_size = atoi(v); }
    else if (!strcmp(a, "--warmup")) { NEED(); opt_warmup = atof(v); }
    else if (!strcmp(a, "--duration")) { NEED(); opt_duration = atof(v); }
    else if (!strcmp(a, "--mb")) { NEED(); opt_mb = atof(v); }
    else if (!strcmp(a, "--warmup-mb")) { NEED(); opt_warmup_mb = atof(v); }
    else if (!strcmp(a, "--line")) { NEED(); opt_line = atoi(v); }
    else if (!strcmp(a, "--pid")) { NEED(); opt_pid = atoi(v); }
    else if (!strcmp(a, "--settle")) { NEED(); opt_settle = atof(v); }
    else if (!strcmp(a, "--timeout")) { NEED(); opt_timeout = atof(v); }
    else if (!strcmp(a, "--inflight")) { NEED(); opt_inflight = atoi(v); }
    else if (!strcmp(a, "--sources")) { NEED(); opt_sources = atoi(v); }
    else usage();
#undef NEED
  }
  if (opt_port <= 0 || opt_port > 65535 || opt_conns < 1 || opt_inflight < 1) usage();
  if (opt_size < 1 || opt_size > (1 << 20)) usage();
  if (opt_line < 3 || opt_line > (1 << 20)) usage();
  if (opt_sources < 1 || opt_sources > 250) usage();
  if (strncmp(opt_host, "127.", 4) != 0) {
    fprintf(stderr, "loadgen: loopback only (127.0.0.0/8), got %s\n", opt_host);
    exit(2);
  }
}

/* ---- time, errors, output -------------------------------------------------- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t deadline_ns;
static long errors = 0;
static char first_error[160] = "";

static void error_at(const char *what, int err) {
  errors++;
  if (first_error[0] == '\0') {
    snprintf(first_error, sizeof first_error, "%s%s%s", what, err ? ": " : "",
             err ? strerror(err) : "");
  }
}

/* CPU time (user + system) this process used so far, in seconds. */
static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int timed_out(void) { return now_ns() > deadline_ns; }

/* ---- connections --------------------------------------------------------- */

enum { C_FREE, C_CONNECTING, C_OPEN, C_DONE, C_CLOSED };

typedef struct {
  int fd;
  int state;
  int index;
  uint32_t events; /* registered epoll events */
  /* ping-pong and echo-once */
  uint32_t seq;
  int sent;  /* bytes of the current message sent */
  int recvd; /* bytes of its echo received */
  uint64_t t_sent;
  unsigned char *msg;
  /* stream */
  uint64_t to_send;
  uint64_t sent_total;
  uint64_t lines;
  char reply[32];
  int reply_len;
  int shut;
} conn_t;

static int ep;
static conn_t *conns;
static struct sockaddr_in server_addr;
static struct in_addr source_base;

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static void set_events(conn_t *c, uint32_t events) {
  if (c->events == events) return;
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) error_at("epoll_ctl mod", errno);
  c->events = events;
}

/* Starts a non-blocking connect; the connection is C_CONNECTING until writable. */
static int open_conn(conn_t *c, int index) {
  c->index = index;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    error_at("socket", errno);
    c->state = C_CLOSED;
    return -1;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (opt_sources > 1) {
    /* Spread connections over several loopback source addresses so repeated
     * runs do not run out of ephemeral ports (TIME_WAIT). */
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = 0};
    src.sin_addr.s_addr = htonl(ntohl(source_base.s_addr) + (uint32_t)(index % opt_sources));
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0) {
      error_at("bind source address", errno);
      close(c->fd);
      c->state = C_CLOSED;
      return -1;
    }
  }
  int rc = connect(c->fd, (struct sockaddr *)&server_addr, sizeof server_addr);
  if (rc < 0 && errno != EINPROGRESS) {
    error_at("connect", errno);
    close(c->fd);
    c->state = C_CLOSED;
    return -1;
  }
  c->state = C_CONNECTING;
  c->events = EPOLLOUT;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
    error_at("epoll_ctl add", errno);
    close(c->fd);
    c->state = C_CLOSED;
    return -1;
  }
  return 0;
}

/* Completes a connect; returns 0 when connected. */
static int finish_connect(conn_t *c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    error_at("connect", err);
    return -1;
  }
  c->state = C_OPEN;
  return 0;
}

static void close_conn(conn_t *c) {
  if (c->state == C_CLOSED || c->state == C_FREE) return;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->state = C_CLOSED;
}

static void fail_conn(conn_t *c, const char *what, int err) {
  error_at(what, err);
  close_conn(c);
}

/* ---- echo messages (ping-pong, idle, churn) --------------------------------- */

static unsigned char *rbuf;
#define RBUF_SIZE (1 << 20)

static void fill_message(conn_t *c) {
  memcpy(c->msg, &c->seq, opt_size < 4 ? (size_t)opt_size : 4);
}

/* Sends the rest of the current message; returns -1 when the connection failed. */
static int send_message(conn_t *c) {
  while (c->sent < opt_size) {
    ssize_t n = send(c->fd, c->msg + c->sent, (size_t)(opt_size - c->sent), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) {
        set_events(c, EPOLLIN | EPOLLOUT);
        return 0;
      }
      fail_conn(c, "send", errno);
      return -1;
    }
    c->sent += (int)n;
  }
  set_events(c, EPOLLIN);
  return 0;
}

static void start_message(conn_t *c) {
  c->seq++;
  fill_message(c);
  c->sent = 0;
  c->recvd = 0;
  c->t_sent = now_ns();
  send_message(c);
}

/* Reads echoed bytes and checks them; returns 1 when the message is complete,
 * 0 when more is expected, -1 when the connection failed. */
static int receive_echo(conn_t *c) {
  for (;;) {
    int want = opt_size - c->recvd;
    if (want == 0) return 1;
    ssize_t n = recv(c->fd, rbuf, (size_t)want, 0);
    if (n < 0) {
      if (errno == EAGAIN) return 0;
      fail_conn(c, "recv", errno);
      return -1;
    }
    if (n == 0) {
      fail_conn(c, "server closed the connection before the echo was complete", 0);
      return -1;
    }
    if (c->recvd + n > c->sent) {
      fail_conn(c, "server sent more than the message", 0);
      return -1;
    }
    if (memcmp(rbuf, c->msg + c->recvd, (size_t)n) != 0) {
      fail_conn(c, "echo mismatch", 0);
      return -1;
    }
    c->recvd += (int)n;
  }
}

/* ---- latency histogram: 100 ns buckets up to 100 ms ---------------------------- */

#define HIST_BUCKETS 1000000
static uint32_t *hist;
static uint64_t hist_count;

static void hist_add(uint64_t ns) {
  uint64_t b = ns / 100;
  if (b >= HIST_BUCKETS) b = HIST_BUCKETS - 1;
  hist[b]++;
  hist_count++;
}

static double hist_percentile(double p) {
  if (hist_count == 0) return 0;
  uint64_t rank = (uint64_t)(p * (double)hist_count);
  if (rank >= hist_count) rank = hist_count - 1;
  uint64_t seen = 0;
  for (int i = 0; i < HIST_BUCKETS; i++) {
    seen += hist[i];
    if (seen > rank) return (i + 0.5) / 10.0; /* microseconds */
  }
  return HIST_BUCKETS / 10.0;
}

/* ---- connecting many ------------------------------------------------------- */

/* Opens `count` connections, at most opt_inflight opening at once; each sends
 * one message on connect and counts as opened once its echo is back. Returns
 * the number of connections that completed their echo. */
static int open_and_echo(int count) {
  int next = 0, opening = 0, done = 0, failed = 0;
  struct epoll_event events[1024];
  while (done + failed < count) {
    while (next < count && opening < opt_inflight) {
      conn_t *c = &conns[next];
      memset(c, 0, sizeof *c);
      c->msg = malloc((size_t)opt_size);
      memset(c->msg, 'a' + next % 26, (size_t)opt_size);
      if (open_conn(c, next) < 0) failed++;
      else opening++;
      next++;
    }
    if (timed_out()) {
      error_at("timed out opening connections", 0);
      break;
    }
    int n = epoll_wait(ep, events, 1024, 100);
    for (int i = 0; i < n; i++) {
      conn_t *c = events[i].data.ptr;
      if (c->state == C_CONNECTING) {
        if (finish_connect(c) < 0) {
          close_conn(c);
          opening--;
          failed++;
          continue;
        }
        start_message(c);
        if (c->state == C_CLOSED) {
          opening--;
          failed++;
        }
        continue;
      }
      if (c->state == C_DONE) {
        fail_conn(c, "server closed or wrote to an idle connection", 0);
        done--;
        failed++;
        continue;
      }
      if (c->state != C_OPEN) continue;
      if ((events[i].events & EPOLLOUT) && c->sent < opt_size && send_message(c) < 0) {
        opening--;
        failed++;
        continue;
      }
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        int r = receive_echo(c);
        if (r < 0) {
          opening--;
          failed++;
        } else if (r == 1) {
          c->state = C_DONE;
          set_events(c, EPOLLIN | EPOLLRDHUP);
          opening--;
          done++;
        }
      }
    }
  }
  return done;
}

/* Echoes one more message on every held connection (checks they are alive). */
static int echo_all_again(int count) {
  int waiting = 0, done = 0;
  for (int i = 0; i < count; i++) {
    conn_t *c = &conns[i];
    if (c->state != C_DONE) continue;
    c->state = C_OPEN;
    start_message(c);
    if (c->state == C_OPEN) waiting++;
  }
  struct epoll_event events[1024];
  while (done < waiting && !timed_out()) {
    int n = epoll_wait(ep, events, 1024, 100);
    for (int i = 0; i < n; i++) {
      conn_t *c = events[i].data.ptr;
      if (c->state != C_OPEN) continue;
      if ((events[i].events & EPOLLOUT) && send_message(c) < 0) {
        waiting--;
        continue;
      }
      int r = receive_echo(c);
      if (r < 0) waiting--;
      else if (r == 1) {
        c->state = C_DONE;
        set_events(c, EPOLLIN | EPOLLRDHUP);
        done++;
      }
    }
  }
  if (done < waiting) error_at("timed out in the second echo round", 0);
  return done;
}

static int close_all(int count) {
  int closed = 0;
  for (int i = 0; i < count; i++) {
    if (conns[i].state != C_CLOSED && conns[i].state != C_FREE) {
      close_conn(&conns[i]);
      closed++;
    }
  }
  return closed;
}

/* ---- modes ------------------------------------------------------------------ */

static int mode_pingpong(void) {
  hist = calloc(HIST_BUCKETS, sizeof *hist);
  int opened = open_and_echo(opt_conns);
  if (opened < opt_conns) {
    printf("{\"mode\":\"pingpong\",\"loadgenCpuSeconds\":%.3f,\"errors\":%ld,\"error\":\"%s\"}\n", cpu_seconds(), errors, first_error);
    return 1;
  }
  uint64_t t0 = now_ns();
  uint64_t t_measure = t0 + (uint64_t)(opt_warmup * 1e9);
  uint64_t t_end = UINT64_MAX;
  int measuring = 0, stopping = 0, active = 0;
  uint64_t msgs = 0;
  for (int i = 0; i < opt_conns; i++) {
    conn_t *c = &conns[i];
    c->state = C_OPEN;
    start_message(c);
    if (c->state == C_OPEN) active++;
  }
  struct epoll_event events[1024];
  while (active > 0) {
    uint64_t now = now_ns();
    if (!measuring && now >= t_measure) {
      measuring = 1;
      msgs = 0;
      memset(hist, 0, HIST_BUCKETS * sizeof *hist);
      hist_count = 0;
      t_measure = now;
      t_end = now + (uint64_t)(opt_duration * 1e9);
    }
    if (measuring && now >= t_end) stopping = 1;
    if (now > deadline_ns) {
      error_at("timed out waiting for echoes", 0);
      break;
    }
    int n = epoll_wait(ep, events, 1024, 50);
    for (int i = 0; i < n; i++) {
      conn_t *c = events[i].data.ptr;
      if (c->state != C_OPEN) continue;
      if ((events[i].events & EPOLLOUT) && c->sent < opt_size && send_message(c) < 0) {
        active--;
        continue;
      }
      int r = receive_echo(c);
      if (r < 0) {
        active--;
      } else if (r == 1) {
        uint64_t t = now_ns();
        if (measuring && !stopping) {
          msgs++;
          hist_add(t - c->t_sent);
        }
        if (stopping) {
          c->state = C_DONE;
          active--;
        } else {
          start_message(c);
          if (c->state != C_OPEN) active--;
        }
      }
    }
  }
  uint64_t elapsed = (stopping ? t_end : now_ns()) - t_measure;
  double secs = (double)elapsed / 1e9;
  close_all(opt_conns);
  printf("{\"mode\":\"pingpong\",\"conns\":%d,\"size\":%d,\"seconds\":%.3f,\"msgs\":%llu,"
         "\"msgsPerSec\":%.1f,\"p50us\":%.1f,\"p99us\":%.1f,\"loadgenCpuSeconds\":%.3f,\"errors\":%ld,\"error\":\"%s\"}\n",
         opt_conns, opt_size, secs, (unsigned long long)msgs, secs > 0 ? (double)msgs / secs : 0,
         hist_percentile(0.50), hist_percentile(0.99), cpu_seconds(), errors, first_error);
  return errors == 0 ? 0 : 1;
}

static unsigned char *pattern;
static size_t pattern_len;

static void build_pattern(void) {
  int per = opt_line;
  size_t lines = (size_t)(262144 / per);
  if (lines == 0) lines = 1;
  pattern_len = lines * (size_t)per;
  pattern = malloc(pattern_len);
  for (size_t l = 0; l < lines; l++) {
    unsigned char *p = pattern + l * (size_t)per;
    int body = per - (opt_crlf ? 2 : 1);
    for (int j = 0; j < body; j++) p[j] = (unsigned char)('a' + (l + (size_t)j) % 26);
    if (opt_crlf) p[body] = '\r';
    p[per - 1] = '\n';
  }
}

/* Sends as much as the socket takes; returns -1 when the connection failed. */
static int stream_send(conn_t *c) {
  while (c->sent_total < c->to_send) {
    size_t off = (size_t)(c->sent_total % pattern_len);
    size_t len = pattern_len - off;
    if (len > c->to_send - c->sent_total) len = (size_t)(c->to_send - c->sent_total);
    ssize_t n = send(c->fd, pattern + off, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) {
        set_events(c, EPOLLIN | EPOLLOUT | EPOLLET);
        return 0;
      }
      fail_conn(c, "send", errno);
      return -1;
    }
    c->sent_total += (uint64_t)n;
  }
  if (!c->shut) {
    shutdown(c->fd, SHUT_WR);
    c->shut = 1;
    set_events(c, EPOLLIN | EPOLLET);
  }
  return 0;
}

/* Reads the reply; returns 1 when the server closed after a correct count. */
static int stream_receive(conn_t *c) {
  for (;;) {
    ssize_t n = recv(c->fd, rbuf, RBUF_SIZE, 0);
    if (n < 0) {
      if (errno == EAGAIN) return 0;
      fail_conn(c, "recv", errno);
      return -1;
    }
    if (n == 0) break;
    if (!c->shut) {
      fail_conn(c, "server replied before the input ended", 0);
      return -1;
    }
    if (c->reply_len + n >= (ssize_t)sizeof c->reply) {
      fail_conn(c, "reply too long", 0);
      return -1;
    }
    memcpy(c->reply + c->reply_len, rbuf, (size_t)n);
    c->reply_len += (int)n;
  }
  c->reply[c->reply_len] = '\0';
  char *end = NULL;
  unsigned long long got = strtoull(c->reply, &end, 10);
  if (c->reply_len == 0 || end == c->reply || strcmp(end, "\n") != 0) {
    char what[96];
    snprintf(what, sizeof what, "bad line-count reply (%d bytes)", c->reply_len);
    fail_conn(c, what, 0);
    return -1;
  }
  if (got != c->lines) {
    char what[96];
    snprintf(what, sizeof what, "line count %llu, expected %llu", got,
             (unsigned long long)c->lines);
    fail_conn(c, what, 0);
    return -1;
  }
  close_conn(c);
  return 1;
}

/* Runs one blast over `count` connections carrying `total` bytes in all. */
static double stream_run(int count, double total, uint64_t *bytes_out, uint64_t *lines_out) {
  uint64_t lines_each = (uint64_t)(total / count / opt_line);
  if (lines_each == 0) lines_each = 1;
  int pending = 0;
  for (int i = 0; i < count; i++) {
    conn_t *c = &conns[i];
    memset(c, 0, sizeof *c);
    c->lines = lines_each;
    c->to_send = lines_each * (uint64_t)opt_line;
    if (open_conn(c, i) == 0) pending++;
  }
  uint64_t t0 = 0;
  int connecting = pending, kicked = 0;
  struct epoll_event events[1024];
  while (pending > 0) {
    if (timed_out()) {
      error_at("timed out streaming", 0);
      break;
    }
    int n = epoll_wait(ep, events, 1024, 100);
    for (int i = 0; i < n; i++) {
      conn_t *c = events[i].data.ptr;
      if (c->state == C_CONNECTING) {
        if (finish_connect(c) < 0) {
          close_conn(c);
          pending--;
          connecting--;
          continue;
        }
        set_events(c, EPOLLIN | EPOLLOUT | EPOLLET);
        connecting--;
        continue;
      }
      if (c->state != C_OPEN || connecting > 0) continue;
      if ((events[i].events & EPOLLOUT) && stream_send(c) < 0) {
        pending--;
        continue;
      }
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
        int r = stream_receive(c);
        if (r != 0) pending--;
      }
    }
    if (connecting == 0 && !kicked) {
      /* Everyone connected: start all senders at once (edge-triggered). */
      kicked = 1;
      t0 = now_ns();
      for (int i = 0; i < count; i++) {
        conn_t *c = &conns[i];
        if (c->state == C_OPEN && stream_send(c) < 0) pending--;
      }
    }
  }
  uint64_t t1 = now_ns();
  close_all(count);
  *bytes_out = lines_each * (uint64_t)opt_line * (uint64_t)count;
  *lines_out = lines_each * (uint64_t)count;
  return t0 == 0 ? 0 : (double)(t1 - t0) / 1e9;
}

static int mode_stream(void) {
  build_pattern();
  uint64_t bytes = 0, lines = 0;
  if (opt_warmup_mb > 0) {
    stream_run(1, opt_warmup_mb * 1e6, &bytes, &lines);
    if (errors) {
      printf("{\"mode\":\"stream\",\"loadgenCpuSeconds\":%.3f,\"errors\":%ld,\"error\":\"warm-up: %s\"}\n", cpu_seconds(),
             errors, first_error);
      return 1;
    }
  }
  double secs = stream_run(opt_conns, opt_mb * 1e6, &bytes, &lines);
  printf("{\"mode\":\"stream\",\"conns\":%d,\"line\":%d,\"crlf\":%s,\"bytes\":%llu,"
         "\"lines\":%llu,\"seconds\":%.4f,\"mbPerSec\":%.1f,\"linesPerSec\":%.0f,"
         "\"loadgenCpuSeconds\":%.3f,\"errors\":%ld,\"error\":\"%s\"}\n",
         opt_conns, opt_line, opt_crlf ? "true" : "false", (unsigned long long)bytes,
         (unsigned long long)lines, secs, secs > 0 ? (double)bytes / 1e6 / secs : 0,
         secs > 0 ? (double)lines / secs : 0, cpu_seconds(), errors, first_error);
  return errors == 0 ? 0 : 1;
}

static long read_rss_kib(int pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  long kib = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "VmRSS:", 6) == 0) {
      kib = strtol(line + 6, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kib;
}

static void sleep_s(double s) {
  struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

static int mode_idle(void) {
  if (opt_pid <= 0 || read_rss_kib(opt_pid) < 0) {
    fprintf(stderr, "loadgen: idle needs --pid of a live server process\n");
    return 2;
  }
  int warm = 200;
  int count = opt_conns;
  conns = realloc(conns, (size_t)(count > warm ? count : warm) * sizeof *conns);
  open_and_echo(warm);
  close_all(warm);
  if (errors) {
    printf("{\"mode\":\"idle\",\"loadgenCpuSeconds\":%.3f,\"errors\":%ld,\"error\":\"warm-up: %s\"}\n", cpu_seconds(), errors, first_error);
    return 1;
  }
  sleep_s(opt_settle);
  long rss0 = read_rss_kib(opt_pid);
  int opened = open_and_echo(count);
  sleep_s(opt_settle);
  long rss1 = read_rss_kib(opt_pid);
  int alive = echo_all_again(count);
  close_all(count);
  double per = opened > 0 ? (double)(rss1 - rss0) / opened : 0;
  printf("{\"mode\":\"idle\",\"conns\":%d,\"opened\":%d,\"alive\":%d,\"rssBeforeKiB\":%ld,"
         "\"rssAfterKiB\":%ld,\"kibPerConn\":%.2f,\"loadgenCpuSeconds\":%.3f,\"errors\":%ld,\"error\":\"%s\"}\n",
         count, opened, alive, rss0, rss1, per, cpu_seconds(), errors, first_error);
  return errors == 0 && alive == count ? 0 : 1;
}

static int mode_churn(void) {
  uint64_t t0 = now_ns();
  int opened = open_and_echo(opt_conns);
  uint64_t t1 = now_ns();
  int closed = close_all(opt_conns);
  uint64_t t2 = now_ns();
  double secs = (double)(t2 - t0) / 1e9;
  printf("{\"mode\":\"churn\",\"conns\":%d,\"echoed\":%d,\"closed\":%d,\"seconds\":%.3f,"
         "\"openSeconds\":%.3f,\"connsPerSec\":%.0f,\"loadgenCpuSeconds\":%.3f,\"errors\":%ld,\"error\":\"%s\"}\n",
         opt_conns, opened, closed, secs, (double)(t1 - t0) / 1e9,
         secs > 0 ? opened / secs : 0, cpu_seconds(), errors, first_error);
  return errors == 0 && opened == opt_conns ? 0 : 1;
}

int main(int argc, char **argv) {
  parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  raise_nofile();
  memset(&server_addr, 0, sizeof server_addr);
  server_addr.sin_family = AF_INET;
  server_addr.sin_port = htons((uint16_t)opt_port);
  if (inet_pton(AF_INET, opt_host, &server_addr.sin_addr) != 1) usage();
  inet_pton(AF_INET, "127.0.0.1", &source_base);
  if (opt_sources > 1) source_base.s_addr = htonl(ntohl(inet_addr("127.0.0.1")) + 1);
  deadline_ns = now_ns() + (uint64_t)(opt_timeout * 1e9);
  ep = epoll_create1(EPOLL_CLOEXEC);
  rbuf = malloc(RBUF_SIZE);
  conns = calloc((size_t)opt_conns, sizeof *conns);
  if (ep < 0 || rbuf == NULL || conns == NULL) {
    perror("loadgen");
    return 2;
  }
  if (!strcmp(opt_mode, "pingpong")) return mode_pingpong();
  if (!strcmp(opt_mode, "stream")) return mode_stream();
  if (!strcmp(opt_mode, "idle")) return mode_idle();
  if (!strcmp(opt_mode, "churn")) return mode_churn();
  usage();
  return 2;
}
