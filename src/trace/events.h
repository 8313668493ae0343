// The one list of trace events, and the inline tracepoints the kernel layer calls. A disabled
// tracepoint costs one load and a not-taken branch.
#pragma once

#include <atomic>
#include <cstdint>

namespace cpustop {

struct task_struct;

// X(subsystem, name)
#define CPUSTOP_TRACE_EVENTS(X)         \
  X(sched, sched_switch)                \
  X(sched, sched_waking)                \
  X(sched, sched_wakeup)                \
  X(sched, sched_wakeup_new)            \
  X(sched, sched_migrate_task)          \
  X(sched, sched_process_fork)          \
  X(sched, sched_process_exit)          \
  X(stop, cpu_stop_queue)               \
  X(stop, cpu_stop_start)               \
  X(stop, cpu_stop_finish)              \
  X(cpuhp, cpuhp_enter)                 \
  X(cpuhp, cpuhp_exit)                  \
  X(irq, softirq_raise)                 \
  X(irq, softirq_entry)                 \
  X(irq, softirq_exit)                  \
  X(workqueue, workqueue_execute_start) \
  X(workqueue, workqueue_execute_end)

enum trace_event_id : std::uint16_t {
#define X(sys, name) TE_##name,
  CPUSTOP_TRACE_EVENTS(X)
#undef X
      NR_TRACE_EVENTS
};

extern std::atomic<std::uint64_t> trace_enabled_mask;

inline bool trace_on(trace_event_id id) {
  return __builtin_expect((trace_enabled_mask.load(std::memory_order_relaxed) >> id) & 1, 0);
}

void __trace_sched_switch(bool preempt, task_struct* prev, task_struct* next, unsigned prev_state);
void __trace_sched_wakeup(trace_event_id id, task_struct* p);
void __trace_sched_migrate_task(task_struct* p, int dest_cpu);
void __trace_sched_process_fork(task_struct* parent, task_struct* child);
void __trace_sched_process_exit(task_struct* p);
void __trace_cpu_stop(trace_event_id id, unsigned cpu, unsigned long fn, unsigned long caller,
                      int ret);
void __trace_cpuhp(trace_event_id id, unsigned cpu, int state, const char* name, int ret);
void __trace_softirq(trace_event_id id, unsigned vec);
void __trace_workqueue(trace_event_id id, const void* work, unsigned long fn);

inline void trace_sched_switch(bool preempt, task_struct* prev, task_struct* next,
                               unsigned prev_state) {
  if (trace_on(TE_sched_switch)) __trace_sched_switch(preempt, prev, next, prev_state);
}
inline void trace_sched_waking(task_struct* p) {
  if (trace_on(TE_sched_waking)) __trace_sched_wakeup(TE_sched_waking, p);
}
inline void trace_sched_wakeup(task_struct* p) {
  if (trace_on(TE_sched_wakeup)) __trace_sched_wakeup(TE_sched_wakeup, p);
}
inline void trace_sched_wakeup_new(task_struct* p) {
  if (trace_on(TE_sched_wakeup_new)) __trace_sched_wakeup(TE_sched_wakeup_new, p);
}
inline void trace_sched_migrate_task(task_struct* p, int dest_cpu) {
  if (trace_on(TE_sched_migrate_task)) __trace_sched_migrate_task(p, dest_cpu);
}
inline void trace_sched_process_fork(task_struct* parent, task_struct* child) {
  if (trace_on(TE_sched_process_fork)) __trace_sched_process_fork(parent, child);
}
inline void trace_sched_process_exit(task_struct* p) {
  if (trace_on(TE_sched_process_exit)) __trace_sched_process_exit(p);
}
template <class Fn>
inline void trace_cpu_stop_queue(unsigned cpu, Fn fn, unsigned long caller) {
  if (trace_on(TE_cpu_stop_queue))
    __trace_cpu_stop(TE_cpu_stop_queue, cpu, reinterpret_cast<unsigned long>(fn), caller, 0);
}
template <class Fn>
inline void trace_cpu_stop_start(Fn fn) {
  if (trace_on(TE_cpu_stop_start))
    __trace_cpu_stop(TE_cpu_stop_start, 0, reinterpret_cast<unsigned long>(fn), 0, 0);
}
template <class Fn>
inline void trace_cpu_stop_finish(Fn fn, int ret) {
  if (trace_on(TE_cpu_stop_finish))
    __trace_cpu_stop(TE_cpu_stop_finish, 0, reinterpret_cast<unsigned long>(fn), 0, ret);
}
inline void trace_cpuhp_enter(unsigned cpu, int state, const char* name) {
  if (trace_on(TE_cpuhp_enter)) __trace_cpuhp(TE_cpuhp_enter, cpu, state, name, 0);
}
inline void trace_cpuhp_exit(unsigned cpu, int state, int ret) {
  if (trace_on(TE_cpuhp_exit)) __trace_cpuhp(TE_cpuhp_exit, cpu, state, nullptr, ret);
}
inline void trace_softirq_raise(unsigned vec) {
  if (trace_on(TE_softirq_raise)) __trace_softirq(TE_softirq_raise, vec);
}
inline void trace_softirq_entry(unsigned vec) {
  if (trace_on(TE_softirq_entry)) __trace_softirq(TE_softirq_entry, vec);
}
inline void trace_softirq_exit(unsigned vec) {
  if (trace_on(TE_softirq_exit)) __trace_softirq(TE_softirq_exit, vec);
}
inline void trace_workqueue_execute_start(const void* work, unsigned long fn) {
  if (trace_on(TE_workqueue_execute_start)) __trace_workqueue(TE_workqueue_execute_start, work, fn);
}
inline void trace_workqueue_execute_end(const void* work, unsigned long fn) {
  if (trace_on(TE_workqueue_execute_end)) __trace_workqueue(TE_workqueue_execute_end, work, fn);
}

}  // namespace cpustop
