// Socket system calls for src/net: non-blocking descriptors, negative errno results, no SIGPIPE.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>

#include "arch/arch.h"

namespace cpustop::arch {

namespace {

inline long ret(long r) {
  return r < 0 ? -errno : r;
}

}  // namespace

int sock_socket(int domain, int type, int protocol) {
  return static_cast<int>(ret(::socket(domain, type | SOCK_NONBLOCK, protocol)));
}

int sock_accept(int fd, ::sockaddr* addr, unsigned* addrlen, bool cloexec) {
  return static_cast<int>(
      ret(::accept4(fd, addr, addrlen, SOCK_NONBLOCK | (cloexec ? SOCK_CLOEXEC : 0))));
}

int sock_bind(int fd, const ::sockaddr* addr, unsigned addrlen) {
  return static_cast<int>(ret(::bind(fd, addr, addrlen)));
}

int sock_listen(int fd, int backlog) {
  return static_cast<int>(ret(::listen(fd, backlog)));
}

int sock_connect(int fd, const ::sockaddr* addr, unsigned addrlen) {
  return static_cast<int>(ret(::connect(fd, addr, addrlen)));
}

int sock_setsockopt(int fd, int level, int name, const void* val, unsigned len) {
  return static_cast<int>(ret(::setsockopt(fd, level, name, val, len)));
}

int sock_getsockopt(int fd, int level, int name, void* val, unsigned* len) {
  return static_cast<int>(ret(::getsockopt(fd, level, name, val, len)));
}

int sock_getname(int fd, ::sockaddr* addr, unsigned* addrlen, bool peer) {
  return static_cast<int>(
      ret(peer ? ::getpeername(fd, addr, addrlen) : ::getsockname(fd, addr, addrlen)));
}

long sock_recv(int fd, void* buf, std::size_t len, int flags) {
  return ret(::recv(fd, buf, len, flags | MSG_DONTWAIT));
}

long sock_send(int fd, const void* buf, std::size_t len, int flags) {
  return ret(::send(fd, buf, len, flags | MSG_DONTWAIT | MSG_NOSIGNAL));
}

long sock_readv(int fd, const ::iovec* iov, int iovcnt) {
  return ret(::readv(fd, iov, iovcnt));
}

long sock_writev(int fd, const ::iovec* iov, int iovcnt) {
  msghdr msg = {};
  msg.msg_iov = const_cast<::iovec*>(iov);
  msg.msg_iovlen = static_cast<std::size_t>(iovcnt);
  return ret(::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL));
}

long sock_sendfile(int out_fd, int in_fd, long* offset, std::size_t count) {
  // SIGPIPE is blocked on CPU threads (cpu_thread.cpp): a reset peer gives -EPIPE.
  return ret(::sendfile(out_fd, in_fd, offset, count));
}

int sock_shutdown(int fd, int how) {
  return static_cast<int>(ret(::shutdown(fd, how)));
}

int sock_close(int fd) {
  // Linux releases the descriptor even when close() reports EINTR: never retry.
  return static_cast<int>(ret(::close(fd)));
}

int sock_poll_now(::pollfd* fds, unsigned nfds) {
  return static_cast<int>(ret(::poll(fds, nfds, 0)));
}

unsigned nr_open() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  rlim_t n = rl.rlim_max == RLIM_INFINITY ? (1u << 20) : rl.rlim_max;
  return static_cast<unsigned>(std::min<rlim_t>(n, 1u << 20));
}

}  // namespace cpustop::arch
