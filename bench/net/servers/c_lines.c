/*
 * C reference line counter for the Pants network benchmark, for scale:
 * single-threaded, epoll, non-blocking sockets. Counts "\n" lines (memchr),
 * or "\r\n" lines with `crlf` (memchr for "\r", then checks the next byte,
 * also across reads). At the end of input it replies with the count as
 * decimal text and "\n", then closes. Listens on 127.0.0.1.
 *
 *   gcc -O2 -o /tmp/c_lines bench/net/servers/c_lines.c && /tmp/c_lines PORT [crlf]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  int fd;
  unsigned long long count;
  int cr; /* the previous read ended with "\r" */
} conn_t;

static unsigned char buf[65536];
static int crlf = 0;

static void count_lines(conn_t *c, const unsigned char *p, size_t n) {
  const unsigned char *end = p + n;
  if (!crlf) {
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
      c->count++;
      p++;
    }
    return;
  }
  if (c->cr && n > 0 && p[0] == '\n') c->count++;
  c->cr = 0;
  while ((p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
    if (p + 1 == end) {
      c->cr = 1;
      break;
    }
    if (p[1] == '\n') c->count++;
    p++;
  }
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 4040;
  crlf = argc > 2 && strcmp(argv[2], "crlf") == 0;
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
    perror("c_lines: listen");
    return 1;
  }
  int ep = epoll_create1(0);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  struct epoll_event events[1024];
  for (;;) {
    int n = epoll_wait(ep, events, 1024, -1);
    for (int i = 0; i < n; i++) {
      conn_t *c = events[i].data.ptr;
      if (c == NULL) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          conn_t *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      ssize_t r = recv(c->fd, buf, sizeof buf, 0);
      if (r < 0 && errno == EAGAIN) continue;
      if (r > 0) {
        count_lines(c, buf, (size_t)r);
        continue;
      }
      if (r == 0) {
        char reply[32];
        int len = snprintf(reply, sizeof reply, "%llu\n", c->count);
        send(c->fd, reply, (size_t)len, MSG_NOSIGNAL); /* a few bytes: the socket takes them */
      }
      epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      close(c->fd);
      free(c);
    }
  }
}
