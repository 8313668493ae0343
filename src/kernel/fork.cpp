// Task creation and exit. Stacks come from per-CPU caches backed by a global pool (moved half a
// cache at a time), so that a task is created and freed without a system call in the steady state.
#include "kernel/fork.h"

#include <cstring>
#include <exception>
#include <vector>

#include "kernel/kthread.h"
#include "kernel/pid.h"
#include "kernel/printk.h"
#include "kernel/slab.h"
#include "kernel/time/jiffies.h"
#include "trace/events.h"

namespace cpustop {

namespace {

// ---- Stack cache -----------------------------------------------------------------------------

constexpr std::size_t stack_classes[] = {16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10};
constexpr int NR_STACK_CLASSES = sizeof(stack_classes) / sizeof(stack_classes[0]);
constexpr int PERCPU_STACKS = 64;
constexpr unsigned STACK_BATCH = PERCPU_STACKS / 2;  // moved between a cache and the pool at once
constexpr unsigned STACK_COLOURS = 8, STACK_COLOUR_BYTES = 256;

struct percpu_stack_cache {
  arch::stack stacks[NR_STACK_CLASSES][PERCPU_STACKS];
  int nr[NR_STACK_CLASSES] = {};
};

kmem_cache* task_struct_cachep;  // task_structs come from a slab, as the kernel's do
percpu_stack_cache* stack_caches;
raw_spinlock_t stack_pool_lock{0, LOCK_UNCHECKED, 0};
std::vector<arch::stack>* stack_pool;  // [class] flattened: pool per class
int stack_class(std::size_t size) {
  for (int i = 0; i < NR_STACK_CLASSES; i++)
    if (size <= stack_classes[i]) return i;
  return -1;
}

int get_task_stack(std::size_t size, arch::stack* out, bool* pooled) {
  int cls = stack_class(size);
  *pooled = cls >= 0;
  if (cls < 0) return arch::stack_alloc(size, out);
  thread_info* ti = current_thread_info();
  __preempt_count_add(ti, 1);
  int cpu = ti->cpu.load(std::memory_order_relaxed);
  if (cpu >= 0) {
    percpu_stack_cache* c = &stack_caches[cpu];
    if (c->nr[cls] > 0) {
      *out = c->stacks[cls][--c->nr[cls]];
      __preempt_enable(ti);
      return 0;
    }
  }
  {
    spin_irqsave_guard g(&stack_pool_lock);
    std::vector<arch::stack>& pool = stack_pool[cls];
    if (!pool.empty()) {
      // Refill half the cache at once: one CPU that only creates tasks and another that only
      // reaps them would otherwise bounce the pool lock for every stack.
      if (cpu >= 0) {
        percpu_stack_cache* c = &stack_caches[cpu];
        std::size_t n = std::min<std::size_t>(pool.size() - 1, STACK_BATCH);
        for (; n > 0; n--, pool.pop_back()) c->stacks[cls][c->nr[cls]++] = pool.back();
      }
      *out = pool.back();
      pool.pop_back();
      __preempt_enable(ti);
      return 0;
    }
  }
  __preempt_enable(ti);
  return arch::stack_alloc(stack_classes[cls], out);
}

void put_task_stack(task_struct* p) {
  if (!p->stack.base) return;
  if (!p->stack_pooled) {
    arch::stack_free(&p->stack);
    return;
  }
  int cls = stack_class(p->stack.size);
  thread_info* ti = current_thread_info();
  __preempt_count_add(ti, 1);
  int cpu = ti->cpu.load(std::memory_order_relaxed);
  percpu_stack_cache* c = cpu >= 0 ? &stack_caches[cpu] : nullptr;
  if (c && c->nr[cls] == PERCPU_STACKS) {
    // Full: hand half of it to the pool under one lock (see get_task_stack()).
    spin_irqsave_guard g(&stack_pool_lock);
    for (unsigned n = 0; n < STACK_BATCH; n++)
      stack_pool[cls].push_back(c->stacks[cls][--c->nr[cls]]);
  }
  if (c) {
    c->stacks[cls][c->nr[cls]++] = p->stack;
  } else {
    spin_irqsave_guard g(&stack_pool_lock);
    stack_pool[cls].push_back(p->stack);
  }
  __preempt_enable(ti);
  p->stack = {};
}

// ---- Task entry ------------------------------------------------------------------------------

[[noreturn]] void task_entry(void* prev) {
  schedule_tail(static_cast<task_struct*>(prev));
  __preempt_enable();  // the count every new task starts with: schedule()'s own disable
  task_struct* p = get_current();
  int ret;
  try {
    ret = p->invoke ? p->invoke(p->fn_obj) : p->threadfn(p->threadfn_data);
  } catch (const std::exception& e) {
    printk_fmt("task %d (%s) exited on an uncaught exception: %s", p->pid, p->comm, e.what());
    ret = -EFAULT;
  } catch (...) {
    printk_fmt("task %d (%s) exited on an uncaught exception", p->pid, p->comm);
    ret = -EFAULT;
  }
  do_exit(ret);
}

bool valid_attr(const task_attr& a) {
  if (!valid_policy(a.policy)) return false;
  if (rt_policy(a.policy)) return a.rt_priority >= 1 && a.rt_priority <= MAX_RT_PRIO - 1;
  if (a.rt_priority != 0) return false;
  return a.nice >= MIN_NICE && a.nice <= MAX_NICE;
}

}  // namespace

void fork_init(unsigned nr_cpus) {
  task_struct_cachep = kmem_cache_create("task_struct", sizeof(task_struct), alignof(task_struct));
  stack_caches = new percpu_stack_cache[nr_cpus];
  stack_pool = new std::vector<arch::stack>[NR_STACK_CLASSES];
}

void fork_exit() {
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++)
    for (int cls = 0; cls < NR_STACK_CLASSES; cls++)
      for (int i = 0; i < stack_caches[cpu].nr[cls]; i++)
        arch::stack_free(&stack_caches[cpu].stacks[cls][i]);
  for (int cls = 0; cls < NR_STACK_CLASSES; cls++)
    for (auto& s : stack_pool[cls]) arch::stack_free(&s);
  delete[] stack_caches;
  delete[] stack_pool;
  kmem_cache_destroy(task_struct_cachep);
  task_struct_cachep = nullptr;
  stack_caches = nullptr;
  stack_pool = nullptr;
}

long nr_live_task_structs() {
  return kmem_cache_nr_active(task_struct_cachep);
}

task_struct* copy_process(const task_create_args& args, int* err) {
  static const task_attr default_attr;
  const task_attr& attr = args.attr ? *args.attr : default_attr;
  *err = -EINVAL;
  if (!valid_attr(attr)) return nullptr;
  std::size_t stack_size = attr.stack_size ? attr.stack_size : THREAD_SIZE;
  if (stack_size < MIN_THREAD_SIZE) return nullptr;
  cpumask allowed =
      attr.cpus ? *attr.cpus & cpumask::first_n(nr_cpu_ids_) : cpumask::first_n(nr_cpu_ids_);
  cpumask valid = args.kthread ? cpu_online_mask.load() : cpu_active_mask.load();
  if (!allowed.intersects(valid)) return nullptr;

  void* mem = kmem_cache_alloc(task_struct_cachep);
  if (!mem) {
    *err = -ENOMEM;
    return nullptr;
  }
  auto* p = new (mem) task_struct;
  if (int e = get_task_stack(stack_size, &p->stack, &p->stack_pooled)) {
    *err = e;
    put_task_struct(p);
    return nullptr;
  }

  // The callable lives at the top of the new stack; the stack proper starts below it. The top
  // is lowered by a per-task colour (as the kernel offsets its stacks): pooled stacks are page
  // aligned, and two tasks switching back and forth at equal page offsets stall on 4K aliasing
  // of their frames, a quarter of the cost of a switch.
  arch::stack_reuse(p->stack);
  cpu_hot* h = this_cpu();
  unsigned colour = h->stack_colour.load(std::memory_order_relaxed);
  h->stack_colour.store(colour + 1, std::memory_order_relaxed);
  arch::stack usable = p->stack;
  usable.size -= (colour % STACK_COLOURS) * STACK_COLOUR_BYTES;
  if (args.construct) {
    auto top = reinterpret_cast<std::uintptr_t>(usable.base) + usable.size;
    std::uintptr_t obj = (top - args.fn_size) & ~(std::max<std::size_t>(args.fn_align, 16) - 1);
    args.construct(reinterpret_cast<void*>(obj), args.construct_src);
    p->fn_obj = reinterpret_cast<void*>(obj);
    p->invoke = args.invoke;
    usable.size = obj - reinterpret_cast<std::uintptr_t>(p->stack.base);
  } else {
    p->threadfn = args.threadfn;
    p->threadfn_data = args.threadfn_data;
  }
  arch::context_make(&p->ctx, usable, task_entry);

  // A new task resumes inside a context switch: rq->lock held, interrupts off.
  p->thread_info.preempt_count = SWITCH_PREEMPT_COUNT;
  p->thread_info.irqs_off = 1;
  std::size_t n = std::min(args.name.size(), TASK_COMM_LEN - 1);
  std::memcpy(p->comm, args.name.data(), n);
  p->comm[n] = '\0';
  raw_spin_lock_init(&p->pi_lock, LOCK_PI);
  init_waitqueue_head(&p->exit_wait);
  if (args.kthread) p->flags |= PF_KTHREAD;
  p->detached = attr.detached || args.kthread;
  p->cpus_mask = allowed;
  p->nr_cpus_allowed = static_cast<int>(allowed.weight());
  sched_fork_init(p, attr, args.kthread);
  p->start_time = arch::local_clock() - boot_clock;

  // References: one for running (dropped when it is switched out dead), one for the pid.
  p->usage.store(2, std::memory_order_relaxed);
  if (int e = alloc_pid(p)) {
    *err = e;
    p->usage.store(1, std::memory_order_relaxed);
    put_task_struct(p);
    return nullptr;
  }
  *err = 0;
  return p;
}

void __put_task_struct(task_struct* p) {
  put_task_stack(p);
  delete p->kthread_data;
  arch::context_destroy(&p->ctx);
  p->~task_struct();
  kmem_cache_free(task_struct_cachep, p);
}

void release_task_stack_and_ref(task_struct* p) {
  arch::context_destroy(&p->ctx);
  put_task_stack(p);
  put_task_struct(p);
}

void release_task(task_struct* p) {
  free_pid(p);
  put_task_struct(p);
}

void do_exit(int code) {
  task_struct* p = get_current();
  {
    spin_irqsave_guard g(&p->pi_lock);  // readers of flags (proc, kthread_park) hold it
    p->flags |= PF_EXITING;
    p->exit_code = code;
  }
  trace_sched_process_exit(p);
  // As the kernel's do_exit(): no preemption from here on, so that a woken joiner is switched to
  // once, by do_task_dead(), instead of preempting the dying task and switching back to it.
  preempt_disable();
  if (p->detached) {
    p->exit_state.store(EXIT_DEAD, std::memory_order_release);
    release_task(p);
  } else {
    p->exit_state.store(EXIT_ZOMBIE, std::memory_order_release);
    wake_up_all(&p->exit_wait);
  }
  do_task_dead();
}

// ---- Public API --------------------------------------------------------------------------------

namespace detail {

pid_t spawn_callable(std::string_view name, const task_attr& attr, std::size_t size,
                     std::size_t align, construct_fn construct, void* src, invoke_fn invoke) {
  if (!booted()) return -ENODEV;
  task_create_args args;
  args.name = name;
  args.attr = &attr;
  args.fn_size = size;
  args.fn_align = align;
  args.construct = construct;
  args.construct_src = src;
  args.invoke = invoke;
  int err;
  task_struct* p = copy_process(args, &err);
  if (!p) return err;
  pid_t pid = p->pid;
  trace_sched_process_fork(get_current(), p);
  wake_up_new_task(p);
  might_resched();
  return pid;
}

}  // namespace detail

int join(pid_t pid, int* exit_code) {
  if (pid == getpid()) return -EDEADLK;
  task_struct* p = find_get_task_by_vpid(pid);
  if (!p) return -ESRCH;
  if (p->detached) {
    put_task_struct(p);
    return -ESRCH;
  }
  if (p->join_claimed.exchange(true)) {
    put_task_struct(p);
    return -EINVAL;
  }
  wait_event(p->exit_wait,
             [p] { return p->exit_state.load(std::memory_order_acquire) == EXIT_ZOMBIE; });
  if (exit_code) *exit_code = p->exit_code;
  release_task(p);
  put_task_struct(p);
  return 0;
}

}  // namespace cpustop
