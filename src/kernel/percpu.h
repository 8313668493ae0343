// Per-CPU data and the identity of the running context.
//
// The OS thread of each logical CPU holds, in one thread slot, the thread_info of the task it
// runs (the kernel's `current`). thread_info sits at the start of every task_struct and carries
// what must follow the task rather than the CPU: the preempt count and the interrupt-disable
// flag (a fiber interrupted between reading the CPU and updating a per-CPU count could resume on
// another CPU). Threads outside cpustop get a private pseudo thread_info with cpu == -1.
#pragma once

#include <atomic>
#include <cstdint>

#include "arch/arch.h"
#include "cpustop/cpu.h"
#include "cpustop/cpumask.h"
#include "kernel/compiler.h"
#include "lib/atomic_cpumask.h"

namespace cpustop {

using u64 = std::uint64_t;
using u32 = std::uint32_t;
using s64 = std::int64_t;

struct task_struct;
struct rq;

struct thread_info {
  int preempt_count = 0;
  int irqs_off = 0;
  std::atomic<int> cpu{-1};  // task_cpu(): where the task runs or will run; -1 outside cpustop
};

// Sources of interrupts that others raise on a CPU (cpu_hot::pending).
enum : u32 {
  IRQ_RESCHEDULE = 1u << 0,  // remote wakeups queued on rq->wake_list
  IRQ_TICK = 1u << 1,        // the periodic tick
  IRQ_HRTIMER = 1u << 2,     // an hrtimer expired
  IRQ_CALL_FUNCTION = 1u << 3,
  IRQ_NOHZ_KICK = 1u << 4,  // an idle CPU is asked to balance (nohz_balancer_kick)
  IRQ_NET = 1u << 5,        // readiness on the CPU's I/O set (arch::io_poll): NET_RX
};

// What a CPU's idle loop is doing, so that a sender knows how to reach it.
enum : u32 { CPU_BUSY = 0, CPU_POLLING = 1, CPU_HALTED = 2 };

struct held_lock {
  const void* lock;
  std::uint16_t cls, sub;
};

struct alignas(64) cpu_hot {
  // Written by the owning CPU only.
  int cpu = -1;
  struct rq* rq = nullptr;
  int lockdep_depth = 0;
  held_lock held_locks[24];
  std::atomic<unsigned> stack_colour{0};  // copy_process(): next task's stack offset
  std::atomic<u64> nr_irq_signals{0};     // asynchronous interrupts taken
  std::atomic<u64> nr_async_preempt{0};   // of which ended in a task switch
  std::atomic<u64> nr_async_declined{0};  // interrupted outside preemptible code
  std::atomic<u64> nr_local_timer{0};     // ticks handled (/proc/interrupts "LOC")

  // Written by other CPUs.
  alignas(64) std::atomic<u32> pending{0};
  std::atomic<u32> need_resched{0};
  std::atomic<u32> idle_state{CPU_BUSY};  // also the word arch::cpu_halt() waits on
  std::atomic<u32> irq_signalled{0};      // a thread signal is on its way
  std::atomic<int> curr_prio{140};        // prio of the running task (MAX_PRIO: idle), cpupri
};

extern unsigned nr_cpu_ids_;
extern cpu_hot* cpu_hot_array;
extern atomic_cpumask cpu_possible_mask;
extern atomic_cpumask cpu_online_mask;
extern atomic_cpumask cpu_active_mask;

thread_info* external_thread_info();
cpu_hot* external_cpu_hot();

inline thread_info* current_thread_info() {
  void* p = arch::this_cpu_slot();
  return likely(p) ? static_cast<thread_info*>(p) : external_thread_info();
}

// The CPU the caller runs on. Stable only while preemption is disabled. The variants that take
// ti get the caller's current_thread_info(), which a context keeps across switches: hot paths
// read the slot once (the compiler cannot merge the reads).
inline cpu_hot* this_cpu(thread_info* ti) {
  int cpu = ti->cpu.load(std::memory_order_relaxed);
  return likely(cpu >= 0) ? &cpu_hot_array[cpu] : external_cpu_hot();
}
inline cpu_hot* this_cpu() {
  return this_cpu(current_thread_info());
}

inline cpu_hot* per_cpu_hot(unsigned cpu) {
  return &cpu_hot_array[cpu];
}

// The running task (the idle task in the idle loop); nullptr on a thread outside cpustop.
inline task_struct* get_current(thread_info* ti) {
  return ti->cpu.load(std::memory_order_relaxed) >= 0 ? reinterpret_cast<task_struct*>(ti)
                                                      : nullptr;
}
inline task_struct* get_current() {
  return get_current(current_thread_info());
}

inline int raw_smp_processor_id() {
  return current_thread_info()->cpu.load(std::memory_order_relaxed);
}

inline bool cpu_possible(int cpu) {
  return cpu >= 0 && static_cast<unsigned>(cpu) < nr_cpu_ids_;
}

}  // namespace cpustop
