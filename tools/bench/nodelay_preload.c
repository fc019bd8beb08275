/* An LD_PRELOAD shim that sets TCP_NODELAY on every socket the process
 * accepts: how docs/benchmarks.md ("Nagle") measured freeDiameterd with the
 * baseline extension, which has no [gy] tcp_nodelay, with Nagle off.
 *
 *   cc -shared -fPIC -O2 -o /tmp/nodelay.so tools/bench/nodelay_preload.c -ldl
 *   LD_PRELOAD=/tmp/nodelay.so tools/bench/gy_alone.sh WORK --baseline --rate 500
 *
 * Not built by CMake: a measurement aid, never for production. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int nodelay(int fd) {
  if (fd >= 0) {
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly on non-TCP */
  }
  return fd;
}

int accept(int s, struct sockaddr* a, socklen_t* l) {
  static int (*real)(int, struct sockaddr*, socklen_t*);
  if (!real) real = (int (*)(int, struct sockaddr*, socklen_t*))dlsym(RTLD_NEXT, "accept");
  return nodelay(real(s, a, l));
}

int accept4(int s, struct sockaddr* a, socklen_t* l, int flags) {
  static int (*real)(int, struct sockaddr*, socklen_t*, int);
  if (!real) real = (int (*)(int, struct sockaddr*, socklen_t*, int))dlsym(RTLD_NEXT, "accept4");
  return nodelay(real(s, a, l, flags));
}
