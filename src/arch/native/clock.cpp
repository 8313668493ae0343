// local_clock(): the TSC scaled to nanoseconds when it is invariant, else CLOCK_MONOTONIC.
#include <cpuid.h>
#include <time.h>

#include <mutex>

#include "arch/arch.h"

namespace cpustop::arch {

clock_data clock = {0, 1, 0, false};

namespace {

std::uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

std::uint64_t mono_base;

bool tsc_invariant() {
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u) return false;
  __get_cpuid(0x80000007u, &a, &b, &c, &d);
  return d & (1u << 8);
#else
  return false;
#endif
}

}  // namespace

const char* clocksource_name() {
  return clock.use_tsc ? "tsc" : "monotonic";
}

std::uint64_t local_clock_slow() {
  return monotonic_ns() - mono_base;
}

void clock_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    mono_base = monotonic_ns();
#if defined(__x86_64__)
    if (!tsc_invariant()) return;
    // Calibrate against CLOCK_MONOTONIC over 20 ms; the error is a few parts per million.
    std::uint64_t t0 = monotonic_ns(), c0 = __builtin_ia32_rdtsc();
    timespec req = {0, 20 * 1000 * 1000};
    nanosleep(&req, nullptr);
    std::uint64_t t1 = monotonic_ns(), c1 = __builtin_ia32_rdtsc();
    if (c1 <= c0 || t1 <= t0) return;
    constexpr unsigned shift = 32;
    unsigned __int128 mult = (static_cast<unsigned __int128>(t1 - t0) << shift) / (c1 - c0);
    clock.shift = shift;
    clock.mult = static_cast<std::uint64_t>(mult);
    // Align the TSC epoch with mono_base so both clocks agree at calibration.
    clock.base = c0 - static_cast<std::uint64_t>(
                          (static_cast<unsigned __int128>(t0 - mono_base) << shift) / clock.mult);
    clock.use_tsc = true;
#endif
  });
}

}  // namespace cpustop::arch
