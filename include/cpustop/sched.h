// Tasks: creation, identity, scheduling policy, sleeping and yielding.
//
// A task is a fiber that only cpustop schedules. It runs on one logical CPU at a time and may
// be moved between CPUs by the scheduler whenever it is not running. The calls below marked
// "task context" return -EPERM (and do nothing) when called from a thread that is not a cpustop
// task (the thread that called boot(), for example).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "cpustop/cpumask.h"

// Policies, with glibc's values (SCHED_NORMAL is glibc's SCHED_OTHER).
#ifndef SCHED_NORMAL
#define SCHED_NORMAL 0
#endif
#ifndef SCHED_FIFO
#define SCHED_FIFO 1
#endif
#ifndef SCHED_RR
#define SCHED_RR 2
#endif
#ifndef SCHED_BATCH
#define SCHED_BATCH 3
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif

namespace cpustop {

struct task_struct;

inline constexpr int MAX_RT_PRIO = 100;
inline constexpr int MIN_NICE = -20;
inline constexpr int MAX_NICE = 19;
inline constexpr std::size_t TASK_COMM_LEN = 16;

struct task_attr {
  int policy = SCHED_NORMAL;
  int nice = 0;                 // SCHED_NORMAL and SCHED_BATCH: -20..19
  int rt_priority = 0;          // SCHED_FIFO and SCHED_RR: 1..99; 0 otherwise
  std::optional<cpumask> cpus;  // allowed CPUs; default: all
  std::size_t stack_size = 0;   // 0: 64 KiB; at least 16 KiB
  bool detached = false;        // reaped at exit; join() is then -ESRCH
};

namespace detail {
using construct_fn = void (*)(void* dst, void* src);
using invoke_fn = int (*)(void* obj);  // runs and destroys the callable
pid_t spawn_callable(std::string_view name, const task_attr& attr, std::size_t size,
                     std::size_t align, construct_fn construct, void* src, invoke_fn invoke);
}  // namespace detail

// Creates a task named `name` (truncated to 15 characters) that runs fn() and exits with its
// result (0 for a void fn). fn is moved onto the new task's stack; spawning does not allocate
// from the heap when a pooled stack is available. The task is placed on an allowed online CPU
// and may start before spawn returns.
// Any context, including threads outside cpustop. Returns the pid, or -EINVAL (bad policy,
// priority, nice, stack size, or no online CPU in attr.cpus; nothing is created), -ENOMEM, or
// -ENODEV when not booted. An exception escaping fn is logged; the task exits with -EFAULT.
template <class F>
pid_t spawn(std::string_view name, F&& fn, const task_attr& attr = {}) {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn&>, "spawn needs a callable taking no arguments");
  return detail::spawn_callable(
      name, attr, sizeof(Fn), alignof(Fn),
      [](void* dst, void* src) {
        ::new (dst) Fn(std::forward<F>(*static_cast<std::remove_reference_t<F>*>(src)));
      },
      const_cast<void*>(static_cast<const void*>(&fn)),
      [](void* obj) -> int {
        Fn* f = static_cast<Fn*>(obj);
        struct destroy {
          Fn* f;
          ~destroy() { f->~Fn(); }
        } guard{f};
        if constexpr (std::is_void_v<std::invoke_result_t<Fn&>>) {
          (*f)();
          return 0;
        } else {
          return static_cast<int>((*f)());
        }
      });
}

// Waits for task `pid` to exit and reaps it. May sleep; from outside cpustop it blocks the
// calling thread. Returns 0 and stores the exit code, -ESRCH (no such task, or detached),
// -EINVAL (another join is already waiting for it), -EDEADLK (pid is the caller).
int join(pid_t pid, int* exit_code = nullptr);

// The running task, or nullptr outside cpustop's CPUs. Inside the idle loop it is the idle task.
task_struct* current();
// p's pid (its thread id, as the kernel's task_pid_nr()); p must be a live task. Any context.
pid_t task_pid_nr(const task_struct* p);
// The calling task's pid, -1 outside tasks.
pid_t getpid();
// The CPU the caller runs on (may change at the next preemption point unless preemption or
// migration is disabled), -1 outside cpustop's CPUs.
int smp_processor_id();

// Task context. Puts the caller behind the other runnable tasks of its class. 0 or -EPERM.
int sched_yield();
// Preemption point under every model: runs deferred interrupts and switches if a reschedule is
// pending. Returns 1 if it switched, 0 if not (also outside tasks).
int cond_resched();
// Task context; sleeps at least the given time (the CPU runs other tasks). 0 or -EPERM. From a
// context that must not sleep (preemption disabled, a stop function) it logs "BUG: sleeping
// function called from invalid context" and returns -EDEADLK.
int msleep(unsigned int ms);
int usleep(std::uint64_t us);
int nanosleep(std::uint64_t ns);

struct sched_param {
  int sched_priority;
};
// Sets the policy and priority of task pid (0: the caller) like sched_setscheduler(2). Returns 0,
// -ESRCH, -EINVAL (bad policy or priority for it), -EPERM (a kernel thread that forbids it).
int sched_setscheduler(pid_t pid, int policy, const sched_param& param);
// The policy of pid, or -ESRCH.
int sched_getscheduler(pid_t pid);
// pid's rt priority into param->sched_priority (0 for fair tasks). 0, -EINVAL for a negative pid
// or null param, -ESRCH. Any task or thread; does not sleep.
int sched_getparam(pid_t pid, sched_param* param);
// pid's time slice (0: the caller) like sched_rr_get_interval(2), in ns: the round-robin slice
// of a SCHED_RR task (sched_rr_timeslice ticks), 0 for SCHED_FIFO, a fair task's share of the
// scheduling period while its run queue has load. 0, -EINVAL (negative pid, null
// interval_ns), -ESRCH. Does not sleep.
int sched_rr_get_interval(pid_t pid, std::uint64_t* interval_ns);
// Sets the nice value (-20..19, clamped as the kernel does) of a SCHED_NORMAL/BATCH/IDLE task.
// 0, -ESRCH.
int set_user_nice(pid_t pid, int nice);
// Stores the nice value of pid (0: the caller) in *nice. 0 or -ESRCH.
int task_nice(pid_t pid, int* nice);

// Affinity with sched_setaffinity(2) semantics. A running task is moved by its CPU's stopper
// (migration/N); a queued task directly. May sleep until the move is done. Returns 0, -ESRCH,
// -EINVAL (no active CPU in mask, or a per-CPU kernel thread), -EPERM.
int sched_setaffinity(pid_t pid, const cpumask& mask);
// The allowed mask AND the active CPUs. 0 or -ESRCH.
int sched_getaffinity(pid_t pid, cpumask* mask);

}  // namespace cpustop
