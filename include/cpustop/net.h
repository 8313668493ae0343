// Sockets for tasks: a task that waits for a socket sleeps in S on the socket's wait queue and
// its CPU runs other tasks; readiness wakes it through try_to_wake_up. Never the CPU's thread.
//
// Descriptors are the process's own socket descriptors (ls /proc/PID/fd shows them), made and
// owned by these calls: only descriptors from net::socket() and net::accept4() are cpustop
// sockets, anything else gets -EBADF (-ENOTSOCK is not distinguished). They belong to the
// machine, not to a task: any task may use them, and a task keeps its sockets, and keeps being
// served, when it moves to another CPU (affinity, load balancing, CPU hotplug).
//
// Calls and contexts:
//   - Calls that may sleep (accept4, connect, read, write, readv, writev, sendfile, poll) need
//     task context: -EPERM from a thread outside cpustop or from interrupt context, and a
//     "BUG: sleeping function called from invalid context" report plus -EDEADLK with preemption
//     disabled or inside a stop function. With timeout 0, or on a SOCK_NONBLOCK socket, they
//     never sleep and work from anywhere, as do socket, bind, listen, setsockopt, getsockopt,
//     getsockname, getpeername, shutdown and close.
//   - Results are the kernel's: >= 0, or a negative errno (-EBADF, -EINVAL, -EAGAIN,
//     -ECONNRESET, -EPIPE, -ECONNREFUSED, -EMFILE, ...). Bad input (a bad descriptor, a null
//     buffer with a non-zero count, a negative count) is refused with -EBADF/-EFAULT/-EINVAL and
//     changes nothing.
//   - timeout_ns bounds the whole call: negative waits without limit, 0 never waits (-EAGAIN
//     instead), a positive timeout that elapses gives -ETIMEDOUT. On a SOCK_NONBLOCK socket a call
//     never waits and gives -EAGAIN (-EINPROGRESS for connect), as the kernel's.
//   - Waits are interruptible: kill() (cpustop/signal.h) ends them with -EINTR, or with the count
//     of bytes already transferred, and every later wait of the task returns -EINTR until it
//     calls flush_signals().
//   - Writes never raise SIGPIPE: a reset or closed peer gives -EPIPE or -ECONNRESET.
//   - Timeouts run on the calling CPU's hrtimers, the machinery msleep() uses.
//   - The simulator (CPUSTOP_ARCH=sim, docs/sim.md) has no sockets and no offload pool: socket()
//     and offload() return -EOPNOTSUPP there and change nothing, and so every other call sees
//     only bad descriptors.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <exception>
#include <type_traits>

namespace cpustop::net {

inline constexpr std::int64_t WAIT_FOREVER = -1;

// A socket, as socket(2); type may carry SOCK_NONBLOCK and SOCK_CLOEXEC. The descriptor is
// non-blocking in the OS whatever the flags (cpustop does the waiting). Returns the descriptor,
// or -EAFNOSUPPORT, -EINVAL, -EMFILE, -ENFILE, -ENOMEM, -EOPNOTSUPP (the simulator), ... Any
// context.
int socket(int domain, int type, int protocol = 0);
// As bind(2), listen(2), setsockopt(2) and getsockopt(2) (e.g. SO_REUSEPORT before bind, for one
// listener per CPU). Any context.
int bind(int fd, const sockaddr* addr, socklen_t addrlen);
int listen(int fd, int backlog);
int setsockopt(int fd, int level, int optname, const void* optval, socklen_t optlen);
int getsockopt(int fd, int level, int optname, void* optval, socklen_t* optlen);
int getsockname(int fd, sockaddr* addr, socklen_t* addrlen);
int getpeername(int fd, sockaddr* addr, socklen_t* addrlen);

// Waits for a connection on a listening socket (the caller sleeps in S). flags: SOCK_NONBLOCK,
// SOCK_CLOEXEC; -EINVAL for others. Returns the new socket, or -EAGAIN, -ETIMEDOUT, -EINTR,
// -EINVAL (not listening), -ECONNABORTED, -EMFILE, ...
int accept4(int fd, sockaddr* addr, socklen_t* addrlen, int flags = 0,
            std::int64_t timeout_ns = WAIT_FOREVER);
// Connects, sleeping until the handshake ends. 0, or -ECONNREFUSED, -ETIMEDOUT, -EINTR,
// -EINPROGRESS (SOCK_NONBLOCK, or timeout 0: completion shows as POLLOUT), -EISCONN, ...
int connect(int fd, const sockaddr* addr, socklen_t addrlen,
            std::int64_t timeout_ns = WAIT_FOREVER);

// Reads what is there, sleeping until something is: the count (> 0), 0 at end of stream, or
// -EAGAIN, -ETIMEDOUT, -EINTR, -ECONNRESET, ...
ssize_t read(int fd, void* buf, size_t count, std::int64_t timeout_ns = WAIT_FOREVER);
ssize_t readv(int fd, const iovec* iov, int iovcnt, std::int64_t timeout_ns = WAIT_FOREVER);
// Writes everything, sleeping while the socket's buffer is full (a SOCK_NONBLOCK socket writes
// what fits). Returns count, or the part written before a timeout or a signal, or -EAGAIN,
// -ETIMEDOUT, -EINTR, -EPIPE, -ECONNRESET when nothing was written.
ssize_t write(int fd, const void* buf, size_t count, std::int64_t timeout_ns = WAIT_FOREVER);
ssize_t writev(int fd, const iovec* iov, int iovcnt, std::int64_t timeout_ns = WAIT_FOREVER);
// Sends count bytes of the regular file in_fd (an ordinary OS descriptor) from *offset (or its
// file position when offset is null) to socket out_fd, as write() does. The page-cache read
// blocks the CPU's thread if the file is not cached: offload() what may come from a slow disk.
ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count,
                 std::int64_t timeout_ns = WAIT_FOREVER);

// As shutdown(2): the peer sees end of stream; our own readers and writers are woken.
int shutdown(int fd, int how);
// Releases the descriptor: 0 or -EBADF. A call still in progress on it (in another task) keeps
// the socket alive until it returns, as the kernel's file references do; the OS descriptor is
// closed after the last one.
int close(int fd);

// Waits until one of the sockets is ready for what its events ask (POLLIN, POLLOUT, POLLPRI,
// POLLRDHUP; POLLERR and POLLHUP always count) and sets each revents. Negative fds are skipped;
// a descriptor that is not a cpustop socket gets POLLNVAL. Returns how many have revents, 0 at
// the timeout (as poll(2)), -EINTR on a signal, -EINVAL for nfds > 4096, -EFAULT for a null
// array with nfds > 0.
int poll(pollfd* fds, nfds_t nfds, std::int64_t timeout_ns = WAIT_FOREVER);

namespace detail {
int offload_call(void (*fn)(void* arg), void* arg);
}

// Runs fn() on a host thread of the offload pool, for calls that block without readiness
// (file I/O, getaddrinfo, a library that blocks): the kernel's io-wq, Go's syscall handoff. The
// calling task sleeps in D meanwhile and its CPU runs other tasks. fn must not call cpustop (it
// runs outside every logical CPU). From outside a task fn simply runs on the caller's thread.
// Returns 0 once fn has run (an exception from fn is rethrown here); -EAGAIN when no pool thread
// could be started, -EOPNOTSUPP from a task in the simulator, and -EDEADLK in atomic context:
// then fn never runs. May sleep.
template <class F>
int offload(F&& fn) {
  static_assert(std::is_invocable_v<F&>, "offload needs a callable taking no arguments");
  struct call {
    std::remove_reference_t<F>* fn;
    std::exception_ptr error;
  } c{&fn, nullptr};
  int ret = detail::offload_call(
      [](void* arg) {
        auto* c = static_cast<call*>(arg);
        try {
          (*c->fn)();
        } catch (...) {
          c->error = std::current_exception();
        }
      },
      &c);
  if (c.error) std::rethrow_exception(c.error);
  return ret;
}

// What the socket layer has done since boot, for /proc-style views and benchmarks.
struct net_stats {
  std::uint64_t sockets = 0;        // open now
  std::uint64_t events = 0;         // readiness events taken from the CPUs' sets
  std::uint64_t waits = 0;          // sleeps on a socket
  std::uint64_t reads_skipped = 0;  // reads that slept at once: the last one had drained it
  std::uint64_t rehomes = 0;        // sockets moved to the readiness set of their task's CPU
  std::uint64_t offloaded = 0;      // calls run by the offload pool
};
net_stats get_net_stats();

}  // namespace cpustop::net
