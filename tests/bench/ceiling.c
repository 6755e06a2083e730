/* The transport ceiling for the benchmark: a single-threaded epoll responder that answers
 * every request from memory with the bytes a file server would send (same body, similar
 * head). No file system, no parsing beyond finding the end of the head. Only for
 * tests/bench/run.sh; not a server.
 *
 * usage: ceiling PORT SMALL_FILE BIG_FILE   (a target starting "/big" gets BIG_FILE)
 * build: gcc -O2 -o ceiling ceiling.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAXFD 65536
#define INBUF 4096
#define errno_is_again() (errno == EAGAIN || errno == EWOULDBLOCK)
struct conn { size_t in_len; const char *out; size_t out_len; int close_after, want_out, drained; char in[INBUF]; };
static struct conn *conns[MAXFD];
/* [small|big][keep-alive|close]: head + body, with the Date at a fixed offset. */
static char *resp[2][2]; static size_t resp_len[2][2], date_off[2][2];
static int ep;

static char *slurp(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY); struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) { perror(path); exit(1); }
    char *b = malloc(st.st_size + 1); size_t got = 0;
    while (got < (size_t)st.st_size) { ssize_t n = read(fd, b + got, st.st_size - got); if (n <= 0) { perror("read"); exit(1); } got += n; }
    close(fd); *len = got; return b;
}

static void build(int big, const char *body, size_t blen) {
    for (int c = 0; c < 2; c++) {
        char head[512];
        int h = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "Server: ceiling\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Last-Modified: Thu, 01 Jan 1970 00:00:00 GMT\r\n%s\r\n",
            big ? "application/octet-stream" : "text/html; charset=utf-8", blen, c ? "Connection: close\r\n" : "");
        resp[big][c] = malloc(h + blen); memcpy(resp[big][c], head, h); memcpy(resp[big][c] + h, body, blen);
        resp_len[big][c] = h + blen; date_off[big][c] = strlen("HTTP/1.1 200 OK\r\nDate: ");
    }
}

static void set_date(void) { /* once a second, like a real server's cached Date */
    static time_t last; time_t now = time(NULL); if (now == last) return; last = now;
    char d[64]; struct tm tm; gmtime_r(&now, &tm); strftime(d, sizeof d, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    for (int b = 0; b < 2; b++) for (int c = 0; c < 2; c++) memcpy(resp[b][c] + date_off[b][c], d, 29);
}

static void want(int fd, struct conn *c, int out) { /* switch interest only when it changes */
    if (c->want_out == out) return;
    c->want_out = out; struct epoll_event ev = {out ? EPOLLOUT : EPOLLIN, {.fd = fd}};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void drop(int fd) { close(fd); free(conns[fd]); conns[fd] = NULL; }

/* Writes what is pending, then answers complete requests in the buffer, then reads. */
static void serve(int fd) {
    struct conn *c = conns[fd];
    for (;;) {
        while (c->out_len) {
            ssize_t n = write(fd, c->out, c->out_len);
            if (n < 0) {
                if (errno_is_again()) { want(fd, c, 1); return; }
                drop(fd); return;
            }
            c->out += n; c->out_len -= n;
        }
        if (c->close_after) { shutdown(fd, SHUT_WR); drop(fd); return; }
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (end) {
            size_t hl = end + 4 - c->in;
            c->in[hl - 1] = 0; /* the head is now a C string ending in "\r\n\r" */
            int big = c->in_len >= 8 && memcmp(c->in, "GET /big", 8) == 0;
            c->close_after = strcasestr(c->in, "\nConnection: close") != NULL;
            c->out = resp[big][c->close_after]; c->out_len = resp_len[big][c->close_after];
            memmove(c->in, c->in + hl, c->in_len - hl); c->in_len -= hl;
            continue;
        }
        if (c->in_len == INBUF) { drop(fd); return; }
        /* A short read emptied the socket: wait for epoll (level-triggered) rather than
         * spend a read on EAGAIN. */
        if (c->drained) { c->drained = 0; want(fd, c, 0); return; }
        size_t room = INBUF - c->in_len;
        ssize_t n = read(fd, c->in + c->in_len, room);
        if (n == 0 || (n < 0 && !errno_is_again())) { drop(fd); return; }
        if (n < 0) { want(fd, c, 0); return; }
        c->in_len += n; c->drained = (size_t)n < room;
    }
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s PORT SMALL_FILE BIG_FILE\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
    size_t n; char *b;
    b = slurp(argv[2], &n); build(0, b, n); b = slurp(argv[3], &n); build(1, b, n); set_date();
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 1024) < 0) { perror("listen"); return 1; }
    ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {EPOLLIN, {.fd = ls}}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    printf("ceiling listening on 127.0.0.1:%s\n", argv[1]); fflush(stdout);
    for (;;) {
        int k = epoll_wait(ep, evs, 256, 1000);
        set_date();
        for (int i = 0; i < k; i++) {
            int fd = evs[i].data.fd;
            if (fd != ls) { if (conns[fd]) serve(fd); continue; }
            int cfd;
            while ((cfd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                if (cfd >= MAXFD) { close(cfd); continue; }
                setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                conns[cfd] = calloc(1, sizeof(struct conn));
                struct epoll_event ce = {EPOLLIN, {.fd = cfd}};
                epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ce);
            }
        }
    }
}
