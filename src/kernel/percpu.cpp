// Per-CPU areas and the identity of threads outside cpustop.
#include "kernel/percpu.h"

#include <new>

namespace cpustop {

unsigned nr_cpu_ids_;
cpu_hot* cpu_hot_array;
atomic_cpumask cpu_possible_mask;
atomic_cpumask cpu_online_mask;
atomic_cpumask cpu_active_mask;

namespace {

// A thread that is not a cpustop CPU gets a pseudo thread_info (cpu == -1) for its preempt
// count and interrupt flag, and its own cpu_hot for the lock-order checker, in the arch's
// per-thread area (not a thread_local: the simulator runs every such thread on one OS thread).
struct external_context {
  bool ready;
  thread_info ti;
  cpu_hot hot;
};
static_assert(sizeof(external_context) <= arch::THREAD_AREA_SIZE);

external_context* external() {
  auto* x = static_cast<external_context*>(arch::thread_area());
  if (unlikely(!x->ready)) {
    new (x) external_context{};
    x->ready = true;
  }
  return x;
}

}  // namespace

thread_info* external_thread_info() {
  external_context* x = external();
  x->ti.cpu.store(-1, std::memory_order_relaxed);
  arch::set_this_cpu_slot(&x->ti);
  return &x->ti;
}

cpu_hot* external_cpu_hot() {
  return &external()->hot;
}

}  // namespace cpustop
