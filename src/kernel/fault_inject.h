// Sim-only fault switches. Each re-introduces one historical bug class of kernel-spec.md §10
// that this code guards against, so that the simulator can show it finds the bug (within a
// bounded number of seeds, per strategy). The native platform compiles every check to false.
#pragma once

#include "arch/arch.h"

namespace cpustop {

enum class sim_fault : unsigned {
  // b17718d02f54: each work of a pair is queued under only its own stopper's lock.
  pair_own_lock_only,
  // e6253970413d: a pair is queued without looking at stop_cpus_in_progress.
  no_stop_cpus_in_progress,
  // 9fb8d5dc4b64: preemption stays on between queueing a pair and waking both stoppers.
  pair_wake_preemptible,
  // A multi_cpu_stop participant that is not active skips its ack of the RUN state.
  skip_ack,
  NR
};

inline constexpr const char* sim_fault_names[] = {
    "pair_own_lock_only",
    "no_stop_cpus_in_progress",
    "pair_wake_preemptible",
    "skip_ack",
};
static_assert(std::size(sim_fault_names) == static_cast<unsigned>(sim_fault::NR));

inline bool fault_injected(sim_fault f) {
  return arch::fault_injected(static_cast<unsigned>(f));
}

}  // namespace cpustop
