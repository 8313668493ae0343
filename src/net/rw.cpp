// Reading and writing sockets: try the OS, and on -EAGAIN sleep on the socket until its readiness
// sequence moves (net/socket.c's sock_read_iter/sock_write_iter with sk_wait_data's sleep).
#include <cerrno>
#include <climits>
#include <vector>

#include "net/sock.h"

namespace cpustop::net {

namespace {

constexpr int IOV_MAX_ = 1024;

std::size_t iov_total(const iovec* iov, int iovcnt) {
  std::size_t n = 0;
  for (int i = 0; i < iovcnt; i++) n += iov[i].iov_len;
  return n;
}

// One input call: op() is the OS call, `want` the bytes it asked for.
template <class Op>
ssize_t sk_recv(int fd, std::size_t want, std::int64_t timeout_ns, Op op) {
  fd_ref f(fd);
  sock* sk = f.sk;
  if (!sk) return -EBADF;
  sk_wait_plan w;
  if (int err = sk_plan_wait(sk->nonblock, timeout_ns, &w)) return err;
  for (;;) {
    u32 snap = sk->rx_seq.load(std::memory_order_seq_cst);
    // A short read drained a stream: only a new event can bring more, so sleep at once.
    bool drained = sk->stream && sk->rx_drained.load(std::memory_order_relaxed) == snap;
    auto read = [&] {
      ssize_t n = op();
      if (sk->stream && n > 0 && static_cast<std::size_t>(n) < want)
        sk->rx_drained.store(snap, std::memory_order_relaxed);
      return n;
    };
    if (!drained) {
      if (ssize_t n = read(); n != -EAGAIN) return n;
    } else {
      net_stat_inc(NS_READS_SKIPPED);
    }
    if (!w.may_wait) {
      if (!drained) return -EAGAIN;
      return read();  // nothing may wait: ask the OS after all, once
    }
    if (int err = sk_wait(sk, sk->rx_seq, snap, SK_IN_EVENTS, w.deadline)) return err;
  }
}

// One output call that sends everything: op(done) sends from byte `done` on.
template <class Op>
ssize_t sk_send_all(int fd, std::size_t total, std::int64_t timeout_ns, Op op) {
  fd_ref f(fd);
  sock* sk = f.sk;
  if (!sk) return -EBADF;
  sk_wait_plan w;
  if (int err = sk_plan_wait(sk->nonblock, timeout_ns, &w)) return err;
  std::size_t done = 0;
  for (;;) {
    u32 snap = sk->tx_seq.load(std::memory_order_seq_cst);
    ssize_t n = op(done);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      if (done >= total || !sk->stream || n == 0) return static_cast<ssize_t>(done);
      if (sk->nonblock) return static_cast<ssize_t>(done);
    } else if (n != -EAGAIN) {
      return done ? static_cast<ssize_t>(done) : n;
    }
    if (!w.may_wait) return done ? static_cast<ssize_t>(done) : -EAGAIN;
    if (int err = sk_wait(sk, sk->tx_seq, snap, SK_OUT_EVENTS, w.deadline))
      return done ? static_cast<ssize_t>(done) : err;
  }
}

bool bad_iov(const iovec* iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > IOV_MAX_) return true;
  if (iovcnt > 0 && !iov) return true;
  return false;
}

}  // namespace

ssize_t read(int fd, void* buf, size_t count, std::int64_t timeout_ns) {
  if (!buf && count) return -EFAULT;
  if (count > SSIZE_MAX) return -EINVAL;
  return sk_recv(fd, count, timeout_ns, [&] { return arch::sock_recv(fd, buf, count, 0); });
}

ssize_t readv(int fd, const iovec* iov, int iovcnt, std::int64_t timeout_ns) {
  if (bad_iov(iov, iovcnt)) return iovcnt < 0 || iovcnt > IOV_MAX_ ? -EINVAL : -EFAULT;
  return sk_recv(fd, iov_total(iov, iovcnt), timeout_ns,
                 [&] { return arch::sock_readv(fd, iov, iovcnt); });
}

ssize_t write(int fd, const void* buf, size_t count, std::int64_t timeout_ns) {
  if (!buf && count) return -EFAULT;
  if (count > SSIZE_MAX) return -EINVAL;
  const char* p = static_cast<const char*>(buf);
  return sk_send_all(fd, count, timeout_ns, [&](std::size_t done) {
    return arch::sock_send(fd, p + done, count - done, 0);
  });
}

ssize_t writev(int fd, const iovec* iov, int iovcnt, std::int64_t timeout_ns) {
  if (bad_iov(iov, iovcnt)) return iovcnt < 0 || iovcnt > IOV_MAX_ ? -EINVAL : -EFAULT;
  std::size_t total = iov_total(iov, iovcnt);
  std::vector<iovec> rest;  // only after a partial write: the vector from the first unsent byte
  return sk_send_all(fd, total, timeout_ns, [&](std::size_t done) {
    if (done == 0) return arch::sock_writev(fd, iov, iovcnt);
    rest.clear();
    std::size_t skip = done;
    for (int i = 0; i < iovcnt; i++) {
      if (skip >= iov[i].iov_len) {
        skip -= iov[i].iov_len;
        continue;
      }
      rest.push_back({static_cast<char*>(iov[i].iov_base) + skip, iov[i].iov_len - skip});
      skip = 0;
    }
    return arch::sock_writev(fd, rest.data(), static_cast<int>(rest.size()));
  });
}

ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count, std::int64_t timeout_ns) {
  if (in_fd < 0) return -EBADF;
  if (count > SSIZE_MAX) return -EINVAL;
  long pos = offset ? *offset : 0;
  ssize_t n = sk_send_all(out_fd, count, timeout_ns, [&](std::size_t done) {
    return arch::sock_sendfile(out_fd, in_fd, offset ? &pos : nullptr, count - done);
  });
  if (offset) *offset = pos;
  return n;
}

}  // namespace cpustop::net
