// The kernel's number formats for the view (lib/vsprintf.c bitmap_string / bitmap_list_string,
// jiffies_to_clock_t), and the host's facts.
#include <fmt/format.h>

#include "cpustop/boot.h"
#include "kernel//task.h"
#include "kernel/time/jiffies.h"
#include "proc/internal.h"

namespace cpustop {

namespace {

proc_host_info host;

}  // namespace

void proc_set_host_info(const proc_host_info& info) {
  host = info;
}

namespace proc {

const proc_host_info& host_info() {
  return host;
}

std::string bitmap_hex(const cpumask& m, unsigned nbits) {
  if (nbits == 0) return "";
  std::string s;
  unsigned chunks = (nbits + 31) / 32;
  for (unsigned c = chunks; c-- > 0;) {
    std::uint32_t w = 0;
    for (unsigned b = 0; b < 32; b++)
      if (c * 32 + b < nbits && m.test(c * 32 + b)) w |= 1u << b;
    if (c == chunks - 1) {
      unsigned width = ((nbits - 1) % 32) / 4 + 1;  // the top chunk holds only nbits
      s += fmt::format("{:0{}x}", w, width);
    } else {
      s += fmt::format(",{:08x}", w);
    }
  }
  return s;
}

std::string bitmap_list(const cpumask& m) {
  return cpumask_to_cpulist(m);
}

std::uint64_t jiffies_to_clock_t(std::uint64_t j) {
  return HZ % USER_HZ == 0 ? j / (HZ / USER_HZ) : j * USER_HZ / HZ;
}

std::uint64_t nsec_to_clock_t(std::uint64_t ns) {
  return ns / (NSEC_PER_SEC / USER_HZ);
}

}  // namespace proc
}  // namespace cpustop
