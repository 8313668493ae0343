// The sim platform's inline fast paths behind arch.h. The thread slots belong to the running
// virtual CPU (or host thread); the clock and cpu_relax() are scheduling points.
#pragma once

#include <cstdint>

namespace cpustop::arch {

namespace sim {
extern void** current_slots;  // the running entity's slots, switched with it
extern std::uint64_t faults;  // config::faults
std::uint64_t clock_point();
void relax_point();
}  // namespace sim

inline std::uint64_t local_clock() {
  return sim::clock_point();
}
inline void cpu_relax() {
  sim::relax_point();
}
inline bool fault_injected(unsigned f) {
  return (sim::faults >> f) & 1;
}
inline void* this_cpu_slot(int slot) {
  return sim::current_slots[slot];
}
inline void set_this_cpu_slot(void* p, int slot) {
  sim::current_slots[slot] = p;
}

}  // namespace cpustop::arch
