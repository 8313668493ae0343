// Run-time check of the lock order declared in lockdep.h (debug, asan and tsan builds).
#include "kernel/locking/lockdep.h"

#ifdef CPUSTOP_LOCKDEP

#include "kernel/bug.h"
#include "kernel/percpu.h"
#include "kernel/printk.h"

namespace cpustop {

namespace {

const char* const class_names[NR_LOCK_CLASSES] = {
    "unchecked",    "wait_queue",       "mutex.wait_lock", "p->pi_lock",          "rq->lock",
    "hrtimer_base", "cpu_stopper.lock", "pidmap_lock",     "kthread_create_lock", "trace_lock",
    "printk_lock"};

// A violation halts (the kernel's lockdep reports and turns itself off; a test wants it fatal).
[[noreturn]] void report(const char* what, const held_lock& held, const raw_spinlock_t* l) {
  console_verbose();
  printk_fmt("======================================================");
  printk_fmt("WARNING: %s", what);
  printk_fmt("cpu %d is trying to acquire %s/%u while holding %s/%u", this_cpu()->cpu,
             class_names[l->dep_class], l->dep_subclass, class_names[held.cls], held.sub);
  printk_fmt("lock order: see src/kernel/locking/lockdep.h and docs/layers.md");
  BUG();
}

}  // namespace

void lockdep_acquire(const raw_spinlock_t* l) {
  cpu_hot* h = this_cpu();
  if (l->dep_class != LOCK_UNCHECKED) {
    for (int i = h->lockdep_depth - 1; i >= 0; i--) {
      const held_lock& hl = h->held_locks[i];
      if (hl.cls == LOCK_UNCHECKED) continue;
      if (hl.lock == l) report("possible recursive locking detected", hl, l);
      if (hl.cls > l->dep_class || (hl.cls == l->dep_class && hl.sub >= l->dep_subclass))
        report("possible circular locking dependency detected", hl, l);
      break;  // the newest checked lock ranks above all older ones
    }
  }
  if (unlikely(h->lockdep_depth ==
               static_cast<int>(sizeof(h->held_locks) / sizeof(h->held_locks[0]))))
    panic("MAX_LOCK_DEPTH too low!");
  h->held_locks[h->lockdep_depth++] = {l, l->dep_class, l->dep_subclass};
}

void lockdep_release(const raw_spinlock_t* l) {
  cpu_hot* h = this_cpu();
  for (int i = h->lockdep_depth - 1; i >= 0; i--) {
    if (h->held_locks[i].lock == l) {
      for (int j = i; j < h->lockdep_depth - 1; j++) h->held_locks[j] = h->held_locks[j + 1];
      h->lockdep_depth--;
      return;
    }
  }
  panic("bad unlock balance detected! (%s/%u)", class_names[l->dep_class], l->dep_subclass);
}

bool lockdep_holds_class(lock_class cls) {
  cpu_hot* h = this_cpu();
  for (int i = 0; i < h->lockdep_depth; i++)
    if (h->held_locks[i].cls == cls) return true;
  return false;
}

void lockdep_assert_held(const raw_spinlock_t* l) {
  cpu_hot* h = this_cpu();
  for (int i = 0; i < h->lockdep_depth; i++)
    if (h->held_locks[i].lock == l) return;
  panic("lock %s/%u not held", class_names[l->dep_class], l->dep_subclass);
}

}  // namespace cpustop

#endif
