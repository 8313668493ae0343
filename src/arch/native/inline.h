// The native platform's inline fast paths behind arch.h: the TSC clock, PAUSE and the %fs-relative
// thread slots. Included by arch.h only; nothing else includes it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace cpustop::arch {

struct clock_data {
  std::uint64_t base;  // raw counter at calibration
  std::uint64_t mult;  // ns = (raw - base) * mult >> shift
  unsigned shift;
  bool use_tsc;
};
extern clock_data clock;
std::uint64_t local_clock_slow();

inline std::uint64_t local_clock() {
#if defined(__x86_64__)
  if (__builtin_expect(clock.use_tsc, 1)) {
    unsigned __int128 d = __builtin_ia32_rdtsc() - clock.base;
    return static_cast<std::uint64_t>((d * clock.mult) >> clock.shift);
  }
#endif
  return local_clock_slow();
}

inline void cpu_relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

// Fault switches exist only in the simulator.
inline bool fault_injected(unsigned) {
  return false;
}

// The slot is read with a single instruction relative to the thread pointer.
extern std::ptrdiff_t tls_slot_offset;
void* this_cpu_slot_slow(int slot);
void set_this_cpu_slot_slow(int slot, void* p);

inline void* this_cpu_slot(int slot) {
#if defined(__x86_64__)
  void* p;
  asm volatile("movq %%fs:(%1), %0"
               : "=r"(p)
               : "r"(tls_slot_offset + slot * static_cast<std::ptrdiff_t>(sizeof(void*))));
  return p;
#else
  return this_cpu_slot_slow(slot);
#endif
}

inline void set_this_cpu_slot(void* p, int slot) {
#if defined(__x86_64__)
  asm volatile("movq %0, %%fs:(%1)"
               :
               : "r"(p), "r"(tls_slot_offset + slot * static_cast<std::ptrdiff_t>(sizeof(void*)))
               : "memory");
#else
  set_this_cpu_slot_slow(slot, p);
#endif
}

}  // namespace cpustop::arch
