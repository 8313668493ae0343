// I/O on the simulator: not simulated. There are no sockets and no offload pool: the calls that
// would make either return -EOPNOTSUPP, which src/net passes to its callers unchanged, so no
// descriptor ever reaches the readiness sets. A halt is a futex wait (native's without I/O).
// The calls that only a socket can reach end the run as a simulator failure.
#include <cerrno>

#include "arch/sim/sim.h"

namespace cpustop::arch {

namespace {

[[noreturn]] void unreachable(const char* call) {
  sim::fail(std::string(call) + ": no sockets exist in the simulator");
}

}  // namespace

int io_init(unsigned) {
  return 0;
}
void io_exit() {}
int io_arm(unsigned, int, std::uint64_t) {
  unreachable("io_arm");
}
int io_disarm(unsigned, int) {
  unreachable("io_disarm");
}
bool io_active(unsigned) {
  return false;
}
int io_poll(unsigned, void (*)(std::uint64_t, std::uint32_t)) {
  return 0;
}
void io_adopt(unsigned, int) {}

int cpu_halt(unsigned, std::atomic<std::uint32_t>* word, std::uint32_t val,
             std::int64_t timeout_ns) {
  futex_wait(word, val, timeout_ns);
  return 0;
}
void cpu_kick(unsigned, std::atomic<std::uint32_t>* word) {
  futex_wake(word, 1);
}

int sock_socket(int, int, int) {
  return -EOPNOTSUPP;
}
int sock_accept(int, ::sockaddr*, unsigned*, bool) {
  unreachable("sock_accept");
}
int sock_bind(int, const ::sockaddr*, unsigned) {
  unreachable("sock_bind");
}
int sock_listen(int, int) {
  unreachable("sock_listen");
}
int sock_connect(int, const ::sockaddr*, unsigned) {
  unreachable("sock_connect");
}
int sock_setsockopt(int, int, int, const void*, unsigned) {
  unreachable("sock_setsockopt");
}
int sock_getsockopt(int, int, int, void*, unsigned*) {
  unreachable("sock_getsockopt");
}
int sock_getname(int, ::sockaddr*, unsigned*, bool) {
  unreachable("sock_getname");
}
long sock_recv(int, void*, std::size_t, int) {
  unreachable("sock_recv");
}
long sock_send(int, const void*, std::size_t, int) {
  unreachable("sock_send");
}
long sock_readv(int, const ::iovec*, int) {
  unreachable("sock_readv");
}
long sock_writev(int, const ::iovec*, int) {
  unreachable("sock_writev");
}
long sock_sendfile(int, int, long*, std::size_t) {
  unreachable("sock_sendfile");
}
int sock_shutdown(int, int) {
  unreachable("sock_shutdown");
}
int sock_close(int) {
  unreachable("sock_close");
}
int sock_poll_now(::pollfd*, unsigned) {
  unreachable("sock_poll_now");
}
unsigned nr_open() {
  return 1024;
}

int offload_queue(offload_work*) {
  return -EOPNOTSUPP;
}
void offload_exit() {}

}  // namespace cpustop::arch
