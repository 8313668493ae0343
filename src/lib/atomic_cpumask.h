// A cpumask whose bits are set and cleared atomically, for the global possible/online/active
// masks that hotplug changes while every CPU reads them.
#pragma once

#include <atomic>
#include <cstdint>

#include "cpustop/cpumask.h"

namespace cpustop {

class atomic_cpumask {
 public:
  void set(unsigned cpu) {
    if (cpu < NR_CPUS) w_[cpu / 64].fetch_or(bit(cpu), std::memory_order_acq_rel);
  }
  void clear(unsigned cpu) {
    if (cpu < NR_CPUS) w_[cpu / 64].fetch_and(~bit(cpu), std::memory_order_acq_rel);
  }
  bool test(int cpu) const {
    return cpu >= 0 && static_cast<unsigned>(cpu) < NR_CPUS &&
           (w_[cpu / 64].load(std::memory_order_acquire) & bit(cpu));
  }
  cpumask load() const {
    cpumask m;
    for (unsigned i = 0; i < kWords; i++) {
      std::uint64_t b = w_[i].load(std::memory_order_acquire);
      while (b) {
        unsigned c = static_cast<unsigned>(__builtin_ctzll(b));
        m.set(i * 64 + c);
        b &= b - 1;
      }
    }
    return m;
  }
  unsigned weight() const {
    unsigned n = 0;
    for (auto& w : w_)
      n += static_cast<unsigned>(__builtin_popcountll(w.load(std::memory_order_acquire)));
    return n;
  }
  void store(const cpumask& m) {
    for (unsigned i = 0; i < kWords; i++) {
      std::uint64_t b = 0;
      for (unsigned c = 0; c < 64; c++)
        if (m.test(i * 64 + c)) b |= bit(c);
      w_[i].store(b, std::memory_order_release);
    }
  }

 private:
  static constexpr unsigned kWords = NR_CPUS / 64;
  static constexpr std::uint64_t bit(unsigned cpu) { return std::uint64_t{1} << (cpu % 64); }
  std::atomic<std::uint64_t> w_[kWords] = {};
};

}  // namespace cpustop
