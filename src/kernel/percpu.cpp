// Per-CPU areas and the identity of threads outside cpustop.
#include "kernel/percpu.h"

namespace cpustop {

unsigned nr_cpu_ids_;
cpu_hot* cpu_hot_array;
atomic_cpumask cpu_possible_mask;
atomic_cpumask cpu_online_mask;
atomic_cpumask cpu_active_mask;

namespace {

// A thread that is not a cpustop CPU gets a pseudo thread_info (cpu == -1) for its preempt
// count and interrupt flag, and its own cpu_hot for the lock-order checker.
struct external_context {
  thread_info ti;
  cpu_hot hot;
};

thread_local external_context external;

}  // namespace

thread_info* external_thread_info() {
  external.ti.cpu.store(-1, std::memory_order_relaxed);
  arch::set_this_cpu_slot(&external.ti);
  return &external.ti;
}

cpu_hot* external_cpu_hot() {
  return &external.hot;
}

}  // namespace cpustop
