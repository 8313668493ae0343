// The scheduler's system calls (kernel/sched/syscalls.c) and the identity calls.
#include "kernel/pid.h"
#include "kernel/sched/sched.h"
#include "kernel/sched/wait.h"
#include "kernel/time/hrtimer.h"

namespace cpustop {

namespace {

// pid 0 means the caller. Returns a referenced task or nullptr.
task_struct* find_process_by_pid(pid_t pid) {
  if (pid == 0) {
    task_struct* p = schedulable_current();
    if (p) get_task_struct(p);
    return p;
  }
  return find_get_task_by_vpid(pid);
}

struct task_ref {
  task_struct* p;
  explicit task_ref(pid_t pid) : p(find_process_by_pid(pid)) {}
  ~task_ref() {
    if (p) put_task_struct(p);
  }
};

int sleep_ns(u64 ns) {
  if (!schedulable_current() || in_interrupt()) return -EPERM;
  if (!might_sleep()) return -EDEADLK;
  schedule_hrtimeout(arch::local_clock() + ns);
  return 0;
}

}  // namespace

task_struct* current() {
  return get_current();
}
pid_t task_pid_nr(const task_struct* p) {
  return p ? p->pid : -1;
}

pid_t getpid() {
  task_struct* p = get_current();
  return p ? p->pid : -1;
}

int smp_processor_id() {
  return raw_smp_processor_id();
}

int sched_yield() {
  // The checks and the switch on one read of the context (see this_cpu(ti)); might_sleep()
  // spelled out on it.
  thread_info* ti = current_thread_info();
  task_struct* p = get_current(ti);
  if (!p || is_idle_task(p) || (ti->preempt_count & (HARDIRQ_MASK | SOFTIRQ_MASK))) return -EPERM;
  if ((ti->preempt_count || ti->irqs_off) && !__might_sleep(__func__)) return -EDEADLK;
  schedule_yield(ti);
  return 0;
}

int msleep(unsigned int ms) {
  return sleep_ns(static_cast<u64>(ms) * NSEC_PER_MSEC);
}
int usleep(std::uint64_t us) {
  return sleep_ns(us * NSEC_PER_USEC);
}
int nanosleep(std::uint64_t ns) {
  return sleep_ns(ns);
}

int sched_setscheduler(pid_t pid, int policy, const sched_param& param) {
  if (pid < 0) return -EINVAL;
  task_ref t(pid);
  if (!t.p) return -ESRCH;
  // Changing the policy of the stop threads is a very bad idea (kernel: -EINVAL).
  if (t.p->sched_class == &stop_sched_class) return -EINVAL;
  return __sched_setscheduler(t.p, policy, param.sched_priority, task_nice_of(t.p), true);
}

int sched_getscheduler(pid_t pid) {
  if (pid < 0) return -EINVAL;
  task_ref t(pid);
  return t.p ? t.p->policy : -ESRCH;
}

int sched_getparam(pid_t pid, sched_param* param) {
  if (pid < 0 || !param) return -EINVAL;
  task_ref t(pid);
  if (!t.p) return -ESRCH;
  param->sched_priority = static_cast<int>(t.p->rt_priority);
  return 0;
}

int sched_rr_get_interval(pid_t pid, std::uint64_t* interval_ns) {
  if (pid < 0 || !interval_ns) return -EINVAL;
  task_ref t(pid);
  if (!t.p) return -ESRCH;
  rq_flags rf;
  rq* rq = task_rq_lock(t.p, &rf);
  unsigned ticks =
      t.p->sched_class->get_rr_interval ? t.p->sched_class->get_rr_interval(rq, t.p) : 0;
  task_rq_unlock(rq, t.p, &rf);
  *interval_ns = u64{ticks} * TICK_NSEC;
  return 0;
}

int set_user_nice(pid_t pid, int nice) {
  task_ref t(pid);
  if (!t.p) return -ESRCH;
  if (t.p->sched_class == &stop_sched_class) return -EINVAL;
  nice = std::clamp(nice, MIN_NICE, MAX_NICE);
  return __sched_setscheduler(t.p, t.p->policy, static_cast<int>(t.p->rt_priority), nice, true);
}

int task_nice(pid_t pid, int* nice) {
  task_ref t(pid);
  if (!t.p) return -ESRCH;
  if (nice) *nice = task_nice_of(t.p);
  return 0;
}

}  // namespace cpustop
