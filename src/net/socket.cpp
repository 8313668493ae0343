// The socket calls that make, name, connect and end sockets (net/socket.c).
#include <cerrno>

#include "net/sock.h"

namespace cpustop::net {

int socket(int domain, int type, int protocol) {
  int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
  int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  int fd = arch::sock_socket(domain, kind | (flags & SOCK_CLOEXEC), protocol);
  if (fd < 0) return fd;
  return sock_install(fd, kind, flags & SOCK_NONBLOCK);
}

int bind(int fd, const sockaddr* addr, socklen_t addrlen) {
  fd_ref f(fd);
  if (!f.sk) return -EBADF;
  if (!addr) return -EFAULT;
  return arch::sock_bind(fd, addr, addrlen);
}

int listen(int fd, int backlog) {
  fd_ref f(fd);
  return f.sk ? arch::sock_listen(fd, backlog) : -EBADF;
}

int setsockopt(int fd, int level, int optname, const void* optval, socklen_t optlen) {
  fd_ref f(fd);
  if (!f.sk) return -EBADF;
  if (!optval && optlen) return -EFAULT;
  return arch::sock_setsockopt(fd, level, optname, optval, optlen);
}

int getsockopt(int fd, int level, int optname, void* optval, socklen_t* optlen) {
  fd_ref f(fd);
  if (!f.sk) return -EBADF;
  if (!optval || !optlen) return -EFAULT;
  return arch::sock_getsockopt(fd, level, optname, optval, optlen);
}

int getsockname(int fd, sockaddr* addr, socklen_t* addrlen) {
  fd_ref f(fd);
  if (!f.sk) return -EBADF;
  if (!addr || !addrlen) return -EFAULT;
  return arch::sock_getname(fd, addr, addrlen, false);
}

int getpeername(int fd, sockaddr* addr, socklen_t* addrlen) {
  fd_ref f(fd);
  if (!f.sk) return -EBADF;
  if (!addr || !addrlen) return -EFAULT;
  return arch::sock_getname(fd, addr, addrlen, true);
}

int accept4(int fd, sockaddr* addr, socklen_t* addrlen, int flags, std::int64_t timeout_ns) {
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return -EINVAL;
  fd_ref f(fd);
  sock* sk = f.sk;
  if (!sk) return -EBADF;
  sk_wait_plan w;
  if (int err = sk_plan_wait(sk->nonblock, timeout_ns, &w)) return err;
  for (;;) {
    u32 snap = sk->rx_seq.load(std::memory_order_seq_cst);
    int nfd = arch::sock_accept(fd, addr, addrlen, flags & SOCK_CLOEXEC);
    if (nfd >= 0) return sock_install(nfd, sk->type, flags & SOCK_NONBLOCK);
    if (nfd != -EAGAIN) return nfd;
    if (!w.may_wait) return -EAGAIN;
    if (int err = sk_wait(sk, sk->rx_seq, snap, SK_IN_EVENTS, w.deadline)) return err;
  }
}

int connect(int fd, const sockaddr* addr, socklen_t addrlen, std::int64_t timeout_ns) {
  fd_ref f(fd);
  sock* sk = f.sk;
  if (!sk) return -EBADF;
  if (!addr) return -EFAULT;
  sk_wait_plan w;
  if (int err = sk_plan_wait(sk->nonblock, timeout_ns, &w)) return err;
  u32 snap = sk->tx_seq.load(std::memory_order_seq_cst);
  int ret = arch::sock_connect(fd, addr, addrlen);
  if (ret != -EINPROGRESS || !w.may_wait) return ret;
  for (;;) {
    if (int err = sk_wait(sk, sk->tx_seq, snap, SK_OUT_EVENTS, w.deadline)) return err;
    snap = sk->tx_seq.load(std::memory_order_seq_cst);
    pollfd p = {fd, POLLOUT, 0};
    if (arch::sock_poll_now(&p, 1) <= 0 || !(p.revents & (POLLOUT | POLLERR | POLLHUP)))
      continue;  // an earlier event (the socket's state when it was armed)
    int error = 0;
    socklen_t len = sizeof(error);
    if (int err = arch::sock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len)) return err;
    return -error;
  }
}

int shutdown(int fd, int how) {
  fd_ref f(fd);
  return f.sk ? arch::sock_shutdown(fd, how) : -EBADF;
}

int close(int fd) {
  return sock_uninstall(fd);
}

}  // namespace cpustop::net
