// A cpumask whose bits are set and cleared atomically, for the global possible/online/active/idle
// masks that hotplug and the idle loop change while every CPU reads them. Like cpumask, it
// touches only the words below its highest CPU ever set, so a load costs what the boot's CPU
// count costs, not NR_CPUS.
#pragma once

#include <atomic>
#include <cstdint>

#include "cpustop/cpumask.h"

namespace cpustop {

class atomic_cpumask {
 public:
  void set(unsigned cpu) {
    if (cpu >= NR_CPUS) return;
    unsigned need = cpu / 64 + 1;
    // Publish the word count first: a reader that sees the bit's word in use reads the word.
    unsigned nw = nw_.load(std::memory_order_relaxed);
    while (nw < need && !nw_.compare_exchange_weak(nw, need, std::memory_order_acq_rel)) {
    }
    w_[cpu / 64].fetch_or(bit(cpu), std::memory_order_acq_rel);
  }
  void clear(unsigned cpu) {
    if (cpu < NR_CPUS) w_[cpu / 64].fetch_and(~bit(cpu), std::memory_order_acq_rel);
  }
  bool test(int cpu) const {
    // Words beyond nw_ are zero: no need to look at it.
    return cpu >= 0 && static_cast<unsigned>(cpu) < NR_CPUS &&
           (w_[cpu / 64].load(std::memory_order_acquire) & bit(static_cast<unsigned>(cpu)));
  }
  cpumask load() const {
    cpumask m;
    m.nw_ = words();
    for (unsigned i = 0; i < m.nw_; i++) m.bits_[i] = w_[i].load(std::memory_order_acquire);
    return m;
  }
  unsigned weight() const {
    unsigned n = 0, nw = words();
    for (unsigned i = 0; i < nw; i++)
      n += static_cast<unsigned>(std::popcount(w_[i].load(std::memory_order_acquire)));
    return n;
  }
  // First set CPU, or NR_CPUS.
  unsigned first() const {
    unsigned nw = words();
    for (unsigned i = 0; i < nw; i++)
      if (std::uint64_t b = w_[i].load(std::memory_order_acquire))
        return i * 64 + static_cast<unsigned>(std::countr_zero(b));
    return NR_CPUS;
  }
  // Replaces the whole mask. Not atomic as a whole, and not to race set() or clear(): for boot
  // and shutdown.
  void store(const cpumask& m) {
    for (unsigned i = 0, n = std::max(words(), m.words()); i < n; i++)
      w_[i].store(i < m.nw_ ? m.bits_[i] : 0, std::memory_order_release);
    nw_.store(m.nw_, std::memory_order_release);
  }

 private:
  static constexpr unsigned kWords = NR_CPUS / 64;
  static constexpr std::uint64_t bit(unsigned cpu) { return std::uint64_t{1} << (cpu % 64); }
  unsigned words() const {
    unsigned nw = nw_.load(std::memory_order_acquire);
    if (nw > kWords) __builtin_unreachable();
    return nw;
  }
  std::atomic<unsigned> nw_{0};  // words that may hold set bits; all beyond are zero
  std::atomic<std::uint64_t> w_[kWords] = {};
};

}  // namespace cpustop
