// The steal clock: how long the host kept a CPU thread runnable but off every hardware CPU.
// Linux says it per thread in /proc/thread-self/schedstat ("run_time run_delay timeslices"),
// the same run_delay that a KVM host reports to its guests as steal time.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "arch/arch.h"

namespace cpustop::arch {

namespace {

// Opened at a thread's first call (thread-self names the opener), closed when it exits: CPU
// threads come and go with every boot.
struct schedstat_file {
  int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  ~schedstat_file() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

std::uint64_t steal_clock() {
  static thread_local schedstat_file f;
  char buf[96];
  ssize_t n = f.fd < 0 ? -1 : pread(f.fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char* end;
  std::strtoull(buf, &end, 10);  // run_time
  return std::strtoull(end, nullptr, 10);
}

}  // namespace cpustop::arch
