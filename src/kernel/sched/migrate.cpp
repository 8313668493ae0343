// Where a task may run and how it gets there (kernel/sched/core.c): is_cpu_allowed,
// select_fallback_rq, __set_cpus_allowed_ptr / affine_move_task / migration_cpu_stop,
// move_queued_task, migrate_disable / migrate_enable, sched_setaffinity.
//
// The seed's story: a queued task is moved by its run queue directly, but a running one cannot
// be, so the scheduler queues migration_cpu_stop on the task's CPU; migration/N preempts the task
// there and moves it while it is merely queued.
#include "kernel/bug.h"
#include "kernel/cpu.h"
#include "kernel/irq.h"
#include "kernel/kthread.h"
#include "kernel/pid.h"
#include "kernel/printk.h"
#include "kernel/sched/sched.h"
#include "kernel/sched/wait.h"

namespace cpustop {

namespace {

// cpumask_of(cpu): a mask that lives as long as the run queue, for cpus_ptr.
const cpumask* cpumask_of_cpu(int cpu) {
  return &cpu_rq(cpu)->cpumask_of_cpu;
}

enum : unsigned {
  SCA_CHECK = 0x01,
  SCA_MIGRATE_DISABLE = 0x02,
  SCA_MIGRATE_ENABLE = 0x04,
  SCA_USER = 0x08,
};

struct affinity_context {
  const cpumask* new_mask;
  unsigned flags;
};

// Serialises the pending requests' refcount waits (wait_var_event).
wait_queue_head var_waitq;

}  // namespace

// One affinity request in flight per task. It lives on the stack of the caller that installed it
// (kernel: "pending is on the owner's stack"); later callers share it.
struct set_affinity_pending {
  std::atomic<int> refs{1};
  bool stop_pending = false;  // migration_cpu_stop is queued (under p->pi_lock)
  completion done;
  cpu_stop_work stop_work;
  struct migration_arg {
    task_struct* task;
    int dest_cpu;
    set_affinity_pending* pending;
  } arg;
};

// ---- Where a task may run
// ------------------------------------------------------------------------

bool is_cpu_allowed(task_struct* p, int cpu) {
  // When not in the task's cpumask, no point in looking further.
  if (!cpumask_test_cpu(cpu, p->cpus_ptr)) return false;
  // migrate_disable() must be allowed to finish.
  if (p->migration_disabled) return cpu_online(cpu);
  // Non kernel threads are not allowed during either online or offline.
  if (!(p->flags & PF_KTHREAD)) return cpu_active(cpu);
  // KTHREAD_IS_PER_CPU is always allowed.
  if (kthread_is_per_cpu(p)) return cpu_online(cpu);
  // Regular kernel threads don't get to stay during offline.
  if (cpu_dying(cpu)) return false;
  // But are allowed during online.
  return cpu_online(cpu);
}

// With p->pi_lock held: an allowed CPU for p, breaking its affinity if none is left.
int select_fallback_rq(int cpu, task_struct* p) {
  for (unsigned dest : *p->cpus_ptr)
    if (is_cpu_allowed(p, static_cast<int>(dest))) return static_cast<int>(dest);
  // No more Mr. Nice Guy: every possible CPU.
  p->cpus_mask = cpumask::first_n(nr_cpu_ids_);
  p->cpus_ptr = &p->cpus_mask;
  p->nr_cpus_allowed = static_cast<int>(nr_cpu_ids_);
  // Kernel threads never leave the kernel: don't tell them about it.
  if (!(p->flags & PF_KTHREAD))
    printk_fmt("process %d (%s) no longer affine to cpu%d", p->pid, p->comm, cpu);
  for (unsigned dest : *p->cpus_ptr)
    if (is_cpu_allowed(p, static_cast<int>(dest))) return static_cast<int>(dest);
  panic("no CPU for %s/%d", p->comm, p->pid);
}

// ---- Moving a queued task
// ------------------------------------------------------------------------

// With rq->lock (and p->pi_lock) held, p queued and not running: move it to new_cpu. Returns
// new_cpu's run queue, locked (rq is unlocked).
rq* move_queued_task(rq* rq, task_struct* p, int new_cpu) {
  deactivate_task(rq, p, DEQUEUE_NOCLOCK);
  set_task_cpu(p, new_cpu);
  rq_unlock(rq);
  rq = cpu_rq(new_cpu);
  rq_lock(rq);
  update_rq_clock(rq);
  activate_task(rq, p, ENQUEUE_NOCLOCK | ENQUEUE_MIGRATED);
  wakeup_preempt(rq, p, 0);
  return rq;
}

// Refuses (returns rq) when dest is not allowed: e.g. a CPU that went down meanwhile.
rq* __migrate_task(rq* rq, task_struct* p, int dest_cpu) {
  if (!is_cpu_allowed(p, dest_cpu)) return rq;
  count_migration(rq->cpu, dest_cpu, MIG_AFFINITY);
  return move_queued_task(rq, p, dest_cpu);
}

// migration_cpu_stop - this will be executed by a high-prio stopper thread and performs a
// thread migration by bumping thread off CPU then 'pushing' onto another runqueue.
int migration_cpu_stop(void* data) {
  auto* arg = static_cast<set_affinity_pending::migration_arg*>(data);
  set_affinity_pending* pending = arg->pending;
  task_struct* p = arg->task;
  bool complete = false;

  // Activate wakeups queued for this CPU first: p may be among them.
  sched_ttwu_pending();

  unsigned long flags = __raw_spin_lock_irqsave(&p->pi_lock);
  rq* rq = this_rq();
  rq_lock(rq);
  if (pending && p->migration_pending != pending)
    WARN(1, "migration_cpu_stop: %s/%d has another pending request", p->comm, p->pid);

  if (task_rq(p) == rq) {
    if (p->migration_disabled) goto out;  // migrate_enable() will redo it
    if (pending) {
      p->migration_pending = nullptr;
      complete = true;
      if (cpumask_test_cpu(task_cpu(p), &p->cpus_mask)) goto out;
    }
    if (task_on_rq_queued(p)) {
      update_rq_clock(rq);
      int dest = arg->dest_cpu;
      // Hotplug took the destination away since the request. The kernel leaves the task where
      // it is until cpusets re-apply its affinity; with no cpusets here, move it to a CPU it may
      // run on now (breaking its affinity if none of its mask is left).
      if (pending && !is_cpu_allowed(p, dest)) dest = select_fallback_rq(dest, p);
      if (dest != rq->cpu) rq = __migrate_task(rq, p, dest);
    } else {
      p->wake_cpu = arg->dest_cpu;
    }
  } else if (pending) {
    // We got migrated between the request and the stopper running: done if allowed here. Its
    // cpus_mask, stable under p->pi_lock: cpus_ptr is also written by migrate_disable_switch()
    // under p's run queue lock alone, which we do not hold (a migrate-disabled p that is not
    // allowed here gets the requeue, and its CPU's stopper leaves it to migrate_enable()).
    if (cpumask_test_cpu(task_cpu(p), &p->cpus_mask)) {
      p->migration_pending = nullptr;
      complete = true;
      goto out;
    }
    // Requeue the same work on the task's new CPU (fix 8a6edb5257e2).
    __preempt_count_add(1);
    rq_unlock(rq);
    __raw_spin_unlock_irqrestore(&p->pi_lock, flags);
    stop_one_cpu_nowait(static_cast<unsigned>(task_cpu(p)), migration_cpu_stop, &pending->arg,
                        &pending->stop_work);
    __preempt_enable();
    return 0;
  }
out:
  if (pending) pending->stop_pending = false;
  rq_unlock(rq);
  __raw_spin_unlock_irqrestore(&p->pi_lock, flags);
  if (complete) complete_all(&pending->done);
  return 0;
}

namespace {

void set_cpus_allowed_common(task_struct* p, const affinity_context& ctx) {
  if (ctx.flags & (SCA_MIGRATE_ENABLE | SCA_MIGRATE_DISABLE)) {
    p->cpus_ptr = ctx.new_mask;
    return;
  }
  p->cpus_mask = *ctx.new_mask;
  p->nr_cpus_allowed = static_cast<int>(ctx.new_mask->weight());
}

// Called with pi_lock and rq->lock held; releases both. May sleep (unless MIGRATE_ENABLE).
int affine_move_task(rq* rq, task_struct* p, rq_flags* rf, int dest_cpu, unsigned flags) {
  set_affinity_pending my_pending;
  bool complete = false;

  // Can the task run on the task's current CPU? If so, we're done.
  if (cpumask_test_cpu(task_cpu(p), &p->cpus_mask)) {
    set_affinity_pending* pending = p->migration_pending;
    if (pending && !pending->stop_pending) {
      p->migration_pending = nullptr;
      complete = true;
    }
    task_rq_unlock(rq, p, rf);
    if (complete) complete_all(&pending->done);
    return 0;
  }

  if (!(flags & SCA_MIGRATE_ENABLE)) {
    // Serialised by p->pi_lock.
    if (!p->migration_pending) {
      init_completion(&my_pending.done);
      my_pending.arg = {p, dest_cpu, &my_pending};
      p->migration_pending = &my_pending;
    } else {
      p->migration_pending->refs.fetch_add(1);
      // Affinity has changed, but a pending request is installed: migration_cpu_stop() must
      // see the new destination.
      p->migration_pending->arg.dest_cpu = dest_cpu;
    }
  }
  set_affinity_pending* pending = p->migration_pending;
  // migrate_enable() raced with another setaffinity that completed the request.
  if (!pending) {
    task_rq_unlock(rq, p, rf);
    return 0;
  }

  if (task_on_cpu(p) || task_state(p) == TASK_WAKING) {
    // Running (or being woken): only its CPU's stopper can move it, race-free.
    bool stop_pending = pending->stop_pending;
    if (!stop_pending) pending->stop_pending = true;
    __preempt_count_add(1);
    task_rq_unlock(rq, p, rf);
    if (!stop_pending) {
      stop_one_cpu_nowait(static_cast<unsigned>(rq->cpu), migration_cpu_stop, &pending->arg,
                          &pending->stop_work);
      // The destination will be woken once migration/N has moved the task: start now.
      wake_up_idle_cpu(dest_cpu);
    }
    __preempt_enable();
    if (flags & SCA_MIGRATE_ENABLE) return 0;
  } else {
    if (!p->migration_disabled) {
      if (task_on_rq_queued(p)) {
        count_migration(rq->cpu, dest_cpu, MIG_AFFINITY);
        rq = move_queued_task(rq, p, dest_cpu);
      }
      if (!pending->stop_pending) {
        p->migration_pending = nullptr;
        complete = true;
      }
    }
    task_rq_unlock(rq, p, rf);
    if (complete) complete_all(&pending->done);
  }

  wait_for_completion(&pending->done);
  if (pending->refs.fetch_sub(1) == 1) wake_up_all(&var_waitq);
  // Keep &my_pending alive until every caller that shared it has seen the completion.
  wait_event(var_waitq, [&] { return my_pending.refs.load() == 0 || pending != &my_pending; });
  return 0;
}

// Called with both p->pi_lock and rq->lock held; drops both.
int __set_cpus_allowed_ptr_locked(task_struct* p, affinity_context* ctx, rq* rq, rq_flags* rf) {
  cpumask cpu_valid = (p->flags & PF_KTHREAD) || p->migration_disabled ? cpu_online_mask.load()
                                                                       : cpu_active_mask.load();
  int ret = 0;
  if ((ctx->flags & SCA_CHECK) && (p->flags & PF_NO_SETAFFINITY)) {
    ret = -EINVAL;
  } else if (!(ctx->flags & SCA_MIGRATE_ENABLE) && *ctx->new_mask == p->cpus_mask) {
    // An equal mask is a no-op.
  } else if (!(ctx->flags & SCA_MIGRATE_ENABLE) && p == get_current() && p->migration_disabled &&
             !cpumask_test_cpu(task_cpu(p), ctx->new_mask)) {
    ret = -EBUSY;
  } else {
    cpumask dest = cpu_valid & *ctx->new_mask;
    if (dest.empty()) {
      ret = -EINVAL;
    } else {
      set_cpus_allowed_common(p, *ctx);
      return affine_move_task(rq, p, rf, static_cast<int>(dest.first()), ctx->flags);
    }
  }
  task_rq_unlock(rq, p, rf);
  return ret;
}

int __set_cpus_allowed_ptr(task_struct* p, affinity_context* ctx) {
  rq_flags rf;
  rq* rq = task_rq_lock(p, &rf);
  return __set_cpus_allowed_ptr_locked(p, ctx, rq, &rf);
}

}  // namespace

int set_cpus_allowed_ptr(task_struct* p, const cpumask& new_mask) {
  cpumask m = new_mask & cpumask::first_n(nr_cpu_ids_);
  affinity_context ctx{&m, 0};
  return __set_cpus_allowed_ptr(p, &ctx);
}

// Narrow a migrate-disabled task to its CPU as it is switched out (__schedule).
void migrate_disable_switch(rq* rq, task_struct* p) {
  if (p->migration_disabled && p->cpus_ptr == &p->cpus_mask) p->cpus_ptr = cpumask_of_cpu(rq->cpu);
}

void migrate_disable() {
  task_struct* p = get_current();
  if (!p || is_idle_task(p)) return;
  if (unsigned short md = p->migration_disabled.load(std::memory_order_relaxed)) {
    p->migration_disabled.store(md + 1, std::memory_order_relaxed);
    return;
  }
  __preempt_count_add(1);
  ++this_rq()->nr_pinned;
  p->migration_disabled.store(1, std::memory_order_relaxed);
  __preempt_enable();
}

void migrate_enable() {
  task_struct* p = get_current();
  if (!p || is_idle_task(p)) return;
  unsigned short md = p->migration_disabled.load(std::memory_order_relaxed);
  if (md == 0) return;
  if (md > 1) {
    p->migration_disabled.store(md - 1, std::memory_order_relaxed);
    return;
  }
  // Ensure stop_task runs either before or after this, and that __set_cpus_allowed_ptr
  // (SCA_MIGRATE_ENABLE) doesn't schedule.
  __preempt_count_add(1);
  if (p->cpus_ptr != &p->cpus_mask) {
    affinity_context ctx{&p->cpus_mask, SCA_MIGRATE_ENABLE};
    __set_cpus_allowed_ptr(p, &ctx);
  }
  // Mustn't clear migration_disabled until cpus_ptr points back at the regular cpus_mask.
  barrier();
  p->migration_disabled.store(0, std::memory_order_relaxed);
  --this_rq()->nr_pinned;
  __preempt_enable();
}

// ---- The system calls
// -------------------------------------------------------------------------------

int sched_setaffinity(pid_t pid, const cpumask& mask) {
  if (pid < 0) return -EINVAL;
  task_struct* p = pid ? find_get_task_by_vpid(pid) : get_current();
  if (!p || (pid == 0 && is_idle_task(p))) return -ESRCH;
  if (pid == 0) get_task_struct(p);
  int ret;
  if (!might_sleep()) {
    ret = -EDEADLK;
  } else {
    // The mask is truncated to the possible CPUs (sched_setaffinity(2)). SCA_CHECK refuses a
    // PF_NO_SETAFFINITY kthread under p's pi_lock, which do_exit() writes flags under.
    cpumask m = mask & cpumask::first_n(nr_cpu_ids_);
    affinity_context ctx{&m, SCA_CHECK | SCA_USER};
    ret = __set_cpus_allowed_ptr(p, &ctx);
  }
  put_task_struct(p);
  return ret;
}

int sched_getaffinity(pid_t pid, cpumask* mask) {
  if (pid < 0 || !mask) return -EINVAL;
  task_struct* p = pid ? find_get_task_by_vpid(pid) : get_current();
  if (!p || (pid == 0 && is_idle_task(p))) return -ESRCH;
  if (pid == 0) get_task_struct(p);
  {
    spin_irqsave_guard g(&p->pi_lock);
    *mask = p->cpus_mask & cpu_active_mask.load();
  }
  put_task_struct(p);
  return 0;
}

void migrate_init() {
  init_waitqueue_head(&var_waitq);
}

}  // namespace cpustop
