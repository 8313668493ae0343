// futex(2) waits and wakes, and the few other blocking calls the kernel layer needs.
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <cstdlib>

#include "arch/arch.h"

namespace cpustop::arch {

int futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t val, std::int64_t timeout_ns) {
  timespec ts, *tsp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  long r = syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, val, tsp,
                   nullptr, 0);
  if (r == 0) return 0;
  if (errno == EAGAIN) return 0;
  return -errno;
}

void futex_wake(std::atomic<std::uint32_t>* word, int nr) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, nr, nullptr,
          nullptr, 0);
}

void os_yield() {
  sched_yield();
}

void os_sleep_ns(std::uint64_t ns) {
  timespec ts = {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void panic_halt() {
  std::abort();
}

}  // namespace cpustop::arch
