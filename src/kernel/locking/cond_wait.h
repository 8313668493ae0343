// The one way to wait (ARCHITECTURE.md rule 5; docs/layers.md). The kernel spins on a word until
// a condition holds (smp_cond_load_acquire(), atomic_cond_read_acquire()); a kernel CPU that
// spins keeps its core, but a logical CPU here is an OS thread that may share a host core with
// the very CPU it waits for. So every wait spins boundedly and then blocks on the word it waits
// on, through arch::futex_wait(), until that word changes:
//
//   cond_spin(done)           spin step: cpu_relax() until done() or the spin budget is spent
//   cond_block(word, seen, t) block step: sleep while *word == seen, at most t ns (-1: no limit)
//   cond_wake(word[, nr])     for writers that end waits: wake the waiters blocked on word
//   cond_wait(word, done)     both: spin, then block on word until done() holds
//   smp_cond_load_acquire(word, cond)   the kernel's form: returns the value that satisfied cond
//
// A writer that changes the word either calls cond_wake() (the spin lock, stop_machine's state,
// an offline CPU's boot request) or never does; then each block lasts at most one slice
// (COND_SLICE_NS) and the waiter looks again, so no wait depends on a wake to finish. How long
// to spin before blocking, and whether to spin at all, is decided in one place: cond_wait_init()
// from the number of logical CPUs against host cores. Spinning and blocking happen only in arch
// calls (cpu_relax, futex_wait), which a simulator can make scheduling points.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <type_traits>

#include "arch/arch.h"
#include "kernel/compiler.h"

namespace cpustop {

struct cond_wait_policy {
  unsigned spins = 1000;               // cpu_relax() rounds before a waiter blocks
  std::uint64_t idle_poll_ns = 20000;  // how long an idle CPU polls before it halts (haltpoll)
};
extern cond_wait_policy cond_policy;

// At boot: oversubscribed (more logical CPUs than host CPUs to run them) means the CPU we wait
// for may need our host core, so waiters spin briefly and idle CPUs halt at once.
void cond_wait_init(unsigned nr_cpus, unsigned nr_hw_cpus);

// A slice of a block on a word whose writers never wake it.
inline constexpr std::int64_t COND_SLICE_NS = 50000;
inline constexpr std::int64_t COND_FOREVER = -1;

template <class T>
inline std::atomic<std::uint32_t>* cond_futex_word(std::atomic<T>* word) {
  static_assert(sizeof(std::atomic<T>) == sizeof(std::uint32_t) && std::is_integral_v<T>,
                "a wait blocks on a 32-bit word");
  return reinterpret_cast<std::atomic<std::uint32_t>*>(word);
}

template <class Done>
[[nodiscard]] inline bool cond_spin(Done&& done) {
  for (unsigned spins = cond_policy.spins; spins; spins--) {
    if (done()) return true;
    arch::cpu_relax();
  }
  return done();
}

template <class T>
inline void cond_block(std::atomic<T>* word, T seen, std::int64_t timeout_ns) {
  arch::futex_wait(cond_futex_word(word), static_cast<std::uint32_t>(seen), timeout_ns);
}

template <class T>
inline void cond_wake(std::atomic<T>* word, int nr = INT_MAX) {
  arch::futex_wake(cond_futex_word(word), nr);
}

// Reads the word before testing done() again, so that a change (and its wake) between the test
// and the block makes the block return at once.
template <class T, class Done>
inline void cond_wait(std::atomic<T>* word, Done&& done, std::int64_t slice_ns = COND_SLICE_NS) {
  if (likely(cond_spin(done))) return;
  for (;;) {
    T seen = word->load(std::memory_order_acquire);
    if (done()) return;
    cond_block(word, seen, slice_ns);
  }
}

// A condition that no single word carries (it takes a lock, or reads a pointer): blocks are
// slices on a word nobody writes.
template <class Done>
inline void cond_wait(Done&& done) {
  if (likely(cond_spin(done))) return;
  std::atomic<std::uint32_t> none{0};
  while (!done()) cond_block(&none, 0u, COND_SLICE_NS);
}

template <class T, class Cond>
inline T smp_cond_load_acquire(std::atomic<T>* word, Cond&& cond,
                               std::int64_t slice_ns = COND_SLICE_NS) {
  T v;
  cond_wait(
      word, [&] { return cond(v = word->load(std::memory_order_acquire)); }, slice_ns);
  return v;
}

}  // namespace cpustop
