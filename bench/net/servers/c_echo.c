/*
 * C reference echo server for the Pants network benchmark, for scale:
 * single-threaded, epoll (level-triggered), non-blocking sockets, one 64 KiB
 * buffer shared by all connections. Listens on 127.0.0.1.
 *
 *   gcc -O2 -o /tmp/c_echo bench/net/servers/c_echo.c && /tmp/c_echo PORT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
  unsigned char *pending; /* bytes the socket did not take yet */
  size_t pending_len, pending_off;
} conn_t;

static int ep;
static unsigned char buf[65536];

static void drop(conn_t *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->pending);
  free(c);
}

/* Writes data; keeps what the socket did not take. Returns -1 on failure. */
static int send_all(conn_t *c, const unsigned char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN) return -1;
      c->pending = malloc(len);
      memcpy(c->pending, data, len);
      c->pending_len = len;
      c->pending_off = 0;
      struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
      epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
      return 0;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 4040;
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
    perror("c_echo: listen");
    return 1;
  }
  ep = epoll_create1(0);
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
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn_t *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      if (c->pending != NULL) {
        ssize_t w = send(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off,
                         MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) {
          drop(c);
          continue;
        }
        if (w > 0) c->pending_off += (size_t)w;
        if (c->pending_off == c->pending_len) {
          free(c->pending);
          c->pending = NULL;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
        continue;
      }
      ssize_t r = recv(c->fd, buf, sizeof buf, 0);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0 || send_all(c, buf, (size_t)r) < 0) drop(c);
    }
  }
}
