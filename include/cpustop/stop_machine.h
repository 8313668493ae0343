// The per-CPU stopper (kernel/stop_machine.c): run a function on a CPU, or on several CPUs at
// once, with nothing else running there.
//
// Each online CPU has one stopper task, migration/N, in the stop scheduling class: the highest
// class, above every real-time task. Work queued to it preempts whatever that CPU runs -- at the
// next preemption point under preempt=voluntary, at once under preempt=full -- and runs there to
// completion, one work at a time, in queueing order.
//
// A stop function (cpu_stop_fn_t) runs on the target CPU's stopper with preemption disabled. It
// must not sleep: calling a sleeping stop API from inside one returns -EDEADLK, and sleeping in
// any other way is reported as "BUG: scheduling while atomic". A C++ exception escaping a stop
// function is caught and logged; the work counts as done with result -EFAULT and the stopper
// goes on serving.
//
// Return codes follow the kernel; in addition an invalid CPU number (>= nr_cpu_ids()) is
// -EINVAL where the kernel would crash.
#pragma once

#include <atomic>
#include <string>
#include <type_traits>
#include <utility>

#include "cpustop/cpumask.h"
#include "cpustop/list.h"

namespace cpustop {

struct task_struct;
struct cpu_stop_done;

using cpu_stop_fn_t = int (*)(void* arg);

// A unit of stopper work. stop_one_cpu_nowait() callers own it: it must stay valid and must not
// be queued again until its function has started.
struct cpu_stop_work {
  list_head list;
  cpu_stop_fn_t fn = nullptr;
  unsigned long caller = 0;  // return address of the code that queued it
  void* arg = nullptr;
  cpu_stop_done* done = nullptr;
  // Set while queued: a work still linked into a stopper's list is never queued again.
  std::atomic<bool> queued{false};
};

// Runs fn(arg) on cpu's stopper and waits for it. May sleep (task context, or a thread outside
// cpustop). Returns fn's result; -ENOENT if cpu's stopper is disabled (the CPU is offline or
// going down): fn did not run; -EINVAL for an invalid cpu; -EDEADLK from atomic context. Does not
// keep cpu online: if it goes down part way, fn may run on another CPU.
int stop_one_cpu(unsigned int cpu, cpu_stop_fn_t fn, void* arg);

// Queues fn(arg) on cpu's stopper in work_buf and returns without waiting. Any context. Returns
// true if queued (fn will run), false if the stopper is disabled or cpu is invalid (fn will never
// run). Queueing a work_buf that is still queued is refused (false) and logged.
bool stop_one_cpu_nowait(unsigned int cpu, cpu_stop_fn_t fn, void* arg, cpu_stop_work* work_buf);

// Stops cpu1 and cpu2 together and runs fn(arg) on cpu1 while cpu2 spins with interrupts off.
// May sleep. Returns fn's result; -ENOENT if either stopper is disabled (nothing ran);
// -EINVAL if cpu1 == cpu2 or a CPU is invalid; -EDEADLK from atomic context.
int stop_two_cpus(unsigned int cpu1, unsigned int cpu2, cpu_stop_fn_t fn, void* arg);

// Runs fn(arg) on every CPU in mask, each on its own stopper, and waits for all. May sleep.
// Returns -ENOENT if no CPU in mask could take the work, 0 if every fn returned 0, else one of
// their non-zero results. (Static in Linux 6.x; kept public as in
// Linux 4.x and LegoOS.)
int stop_cpus(const cpumask* mask, cpu_stop_fn_t fn, void* arg);
// As stop_cpus, but returns -EAGAIN at once while another stop_cpus/stop_machine is queueing.
int try_stop_cpus(const cpumask* mask, cpu_stop_fn_t fn, void* arg);

// Stops every online CPU (each spins with interrupts off) and runs fn(data): once, on the first
// online CPU, when cpus is nullptr; on each CPU in cpus otherwise, concurrently. No task, tick or
// IPI handling runs on any online CPU until every fn has returned. Holds the CPU hotplug lock.
// May sleep. Returns 0 if every fn returned 0, else one non-zero result. Before the stopper is
// initialised, fn runs at once on the calling CPU.
int stop_machine(cpu_stop_fn_t fn, void* data, const cpumask* cpus);
// As stop_machine, for a caller already holding cpus_read_lock().
int stop_machine_cpuslocked(cpu_stop_fn_t fn, void* data, const cpumask* cpus);
// stop_machine from a CPU that is coming up and not yet active: the calling CPU joins the
// machine directly (it runs multi_cpu_stop itself) instead of through its stopper. Returns the
// local result if non-zero, else the collected one. -EINVAL if called on an active CPU.
int stop_machine_from_inactive_cpu(cpu_stop_fn_t fn, void* data, const cpumask* cpus);

// Works queued and not yet started on cpu's stopper (0 for an invalid cpu).
unsigned cpu_stop_queued(unsigned int cpu);

// If task is a CPU's stopper and is running a work: "Stopper: <fn> <- <caller>" (as the kernel
// prints from sched_show_task); otherwise an empty string.
std::string print_stop_info(const char* log_lvl, task_struct* task);

// ---- C++ callables ------------------------------------------------------------------------------

namespace detail {
template <class F>
int invoke_stop_fn(void* arg) {
  auto& f = *static_cast<std::remove_reference_t<F>*>(arg);
  if constexpr (std::is_void_v<std::invoke_result_t<decltype(f)>>) {
    f();
    return 0;
  } else {
    return static_cast<int>(f());
  }
}
}  // namespace detail

// Callable forms of the APIs above: fn() returns int (or void, meaning 0). fn is called by
// reference; it must outlive the call (for the nowait form, until it has run).
template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
int stop_one_cpu(unsigned int cpu, F&& fn) {
  return stop_one_cpu(cpu, &detail::invoke_stop_fn<F>, static_cast<void*>(&fn));
}
template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
bool stop_one_cpu_nowait(unsigned int cpu, F& fn, cpu_stop_work* work_buf) {
  return stop_one_cpu_nowait(cpu, &detail::invoke_stop_fn<F&>, static_cast<void*>(&fn), work_buf);
}
template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
int stop_two_cpus(unsigned int cpu1, unsigned int cpu2, F&& fn) {
  return stop_two_cpus(cpu1, cpu2, &detail::invoke_stop_fn<F>, static_cast<void*>(&fn));
}
template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
int stop_cpus(const cpumask* mask, F&& fn) {
  return stop_cpus(mask, &detail::invoke_stop_fn<F>, static_cast<void*>(&fn));
}
template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
int try_stop_cpus(const cpumask* mask, F&& fn) {
  return try_stop_cpus(mask, &detail::invoke_stop_fn<F>, static_cast<void*>(&fn));
}
template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
int stop_machine(F&& fn, const cpumask* cpus = nullptr) {
  return stop_machine(&detail::invoke_stop_fn<F>, static_cast<void*>(&fn), cpus);
}

}  // namespace cpustop
