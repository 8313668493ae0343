// Boot and halt (init/main.c). boot() prepares the per-CPU areas and starts the CPU threads;
// CPU 0 runs start_kernel() as the init task (swapper/0), which spawns kernel_init (pid 1) and
// kthreadd (pid 2) and becomes CPU 0's idle loop. kernel_init runs the initcalls in the kernel's
// order and then, as "init", waits for shutdown().
#include <cstdio>

#include "kernel/bug.h"
#include "kernel/cpu.h"
#include "kernel/fork.h"
#include "kernel/init.h"
#include "kernel/irq.h"
#include "kernel/kthread.h"
#include "kernel/pid.h"
#include "kernel/printk.h"
#include "kernel/sched/topology.h"
#include "kernel/sched/wait.h"
#include "kernel/softirq.h"
#include "kernel/stop_machine.h"
#include "kernel/system.h"
#include "kernel/time/hrtimer.h"
#include "kernel/time/tick.h"
#include "kernel/workqueue.h"
#include "trace/trace.h"

namespace cpustop {

namespace net {
void net_dev_exit();  // src/net/sock.cpp: closes what tasks left open
}

std::atomic<system_states> system_state{SYSTEM_BOOTING};
boot_params boot_params_current;
std::atomic<bool> machine_halting{false};

namespace {

std::atomic<const detail::host_hooks*> host_hooks_current{nullptr};
std::atomic<bool> boot_busy{false};
std::atomic<bool> is_booted{false};
completion kthreadd_done;
completion boot_done;
completion halt_request;
completion halt_done;

const char* preempt_name(preempt_model m) {
  switch (m) {
    case preempt_model::none:
      return "none";
    case preempt_model::voluntary:
      return "voluntary";
    case preempt_model::full:
      return "full";
  }
  return "?";
}

bool lego_order() {
  return boot_params_current.stop_init == stop_init_order::lego_order;
}

void kernel_halt() {
  system_state.store(SYSTEM_HALT);
  printk_fmt("kernel_halt: stopping per-CPU threads");
  workqueue_exit();
  softirq_exit();
  cpu_stop_exit();
  cpuhp_threads_exit();
  kthreadd_stop();
  machine_halting.store(true, std::memory_order_release);
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++)
    if (cpu_online(static_cast<int>(cpu))) send_ipi(static_cast<int>(cpu), IRQ_RESCHEDULE);
  cpuhp_release_waiting_cpus();
  printk_fmt("reboot: System halted");
}

void kernel_init_freeable() {
  printk_fmt(
      "kernel_init_freeable: workqueue_init, cpuhp_threads_init, do_pre_smp_initcalls, smp_init, "
      "do_basic_setup");
  workqueue_init();
  if (int err = cpuhp_threads_init()) panic("cpuhp_threads_init: %d", err);
  do_pre_smp_initcalls();
  if (!lego_order()) {
    printk_fmt("smp_init: bringing up the secondary CPUs from kernel_init");
    smp_init();
  }
  build_sched_domains();
  printk_fmt("sched_init_smp: %u CPUs active, %s", cpu_active_mask.weight(),
             sched_domains_summary(0).c_str());
  if (lego_order()) {
    // LegoOS: a plain call from kernel_init once every CPU is online (not an initcall).
    printk_fmt("kernel_init: cpu_stop_init() after SMP bring-up (LegoOS order)");
    do_one_initcall("cpu_stop_init", [] { return cpu_stop_init(); });
  }
  printk_fmt("do_basic_setup: do_initcalls");
  do_initcalls();
}

int kernel_init(void*) {
  wait_for_completion(&kthreadd_done);
  kernel_init_freeable();
  system_state.store(SYSTEM_RUNNING);
  // The kernel would exec /sbin/init here; our init stays to carry out the halt.
  task_struct* self = get_current();
  {
    spin_irqsave_guard g(&self->pi_lock);
    std::snprintf(self->comm, sizeof(self->comm), "init");
    self->flags &= ~PF_KTHREAD;
  }
  printk_fmt("Run init as init process (pid %d)", self->pid);
  complete(&boot_done);
  wait_for_completion(&halt_request);
  kernel_halt();
  complete(&halt_done);
  return 0;
}

void rest_init() {
  printk_fmt("rest_init: spawning kernel_init and kthreadd");
  int err;
  task_struct* init = kernel_thread(kernel_init, nullptr, "kernel_init", &err);
  kthreadd_task = kernel_thread(kthreadd, nullptr, "kthreadd", &err);
  printk_fmt("rest_init: kernel_init is pid %d, kthreadd is pid %d", init ? init->pid : -1,
             kthreadd_task ? kthreadd_task->pid : -1);
  system_state.store(SYSTEM_SCHEDULING);
  complete(&kthreadd_done);
  // cpu_startup_entry(): the boot CPU becomes its idle loop.
  cpu_startup_entry();
}

}  // namespace

void start_kernel() {
  const boot_params& p = boot_params_current;
  printk_fmt("Booting cpustop %s on %u logical CPUs (%u hardware CPUs, %s)", "0.1.0", nr_cpu_ids_,
             arch::nr_hw_cpus(), arch::cpu_thread_hw_cpu(0) >= 0 ? "pinned" : "not pinned");
  printk_fmt("Kernel command line: cpus=%u preempt=%s idle=%s hz=%u stop_init=%s", nr_cpu_ids_,
             preempt_name(p.preempt), p.idle == idle_mode::poll ? "poll" : "halt", HZ,
             lego_order() ? "lego" : "linux");
  printk_fmt("start_kernel: setup_arch, sched_init, hrtimers_init, time_init");
  pidmap_init();
  fork_init(nr_cpu_ids_);
  boot_cpu_init(0);
  sched_init();
  init_idle(get_current(), 0);
  printk_fmt("Dynamic Preempt: %s", preempt_name(p.preempt));
  hrtimers_init(nr_cpu_ids_);
  softirq_init();
  irq_init();
  if (int err = tick_init()) printk_fmt("tick_init: clock event device failed: %d", err);
  printk_fmt("clocksource: %s, tick %u Hz", arch::clocksource_name(), HZ);
  if (lego_order()) {
    printk_fmt("smp_init: bringing up the secondary CPUs before rest_init (LegoOS order)");
    smp_init();
  }
  rest_init();
}

void detail::set_host_hooks(const host_hooks* hooks) {
  host_hooks_current.store(hooks);
}

// ---- boot() and shutdown()
// ------------------------------------------------------------------------

int boot(const boot_params& params) {
  if (get_current()) return -EPERM;
  if (boot_busy.exchange(true)) return -EBUSY;
  if (is_booted.load()) {
    boot_busy.store(false);
    return -EBUSY;
  }
  unsigned nr = params.nr_cpus ? params.nr_cpus : arch::nr_hw_cpus();
  if (nr == 0 || nr > NR_CPUS || params.hz < 100 || params.hz > 10000 ||
      !topology_params_valid(params.topology, nr)) {
    boot_busy.store(false);
    return -EINVAL;
  }
  boot_params_current = params;
  boot_params_current.nr_cpus = nr;
  arch::clock_init();
  boot_clock = arch::local_clock();
  printk_reset();
  HZ = params.hz;
  TICK_NSEC = NSEC_PER_SEC / HZ;
  preempt_model_current = params.preempt;
  cond_wait_init(nr, arch::nr_hw_cpus());
  nr_cpu_ids_ = nr;
  cpu_hot_array = new cpu_hot[nr];
  for (unsigned c = 0; c < nr; c++) cpu_hot_array[c].cpu = static_cast<int>(c);
  cpu_online_mask.store({});
  cpu_active_mask.store({});
  machine_halting.store(false);
  system_state.store(SYSTEM_BOOTING);
  cpuhp_init();
  auto* init_task = new task_struct;
  init_task->thread_info.cpu.store(0);
  init_task->thread_info.preempt_count = 1;
  set_idle_task(0, init_task);
  for (completion* c : {&kthreadd_done, &boot_done, &halt_request, &halt_done}) init_completion(c);
  trace_boot_init(nr);

  // The CPUs' readiness sets (their "devices") exist before any CPU can halt on them.
  if (int err = arch::io_init(nr))
    printk_fmt("no I/O readiness sets (%d): halts wait on futexes", err);
  if (int err = arch::cpu_threads_create(nr, params.pin, cpu_thread_main)) {
    // CPU 0 may have started start_kernel; a failed boot cannot be undone safely.
    panic("boot failed: cannot create CPU threads (%d)", err);
  }
  wait_for_completion(&boot_done);
  is_booted.store(true);
  if (const detail::host_hooks* h = host_hooks_current.load()) h->after_boot();
  boot_busy.store(false);
  return 0;
}

int shutdown() {
  if (get_current()) return -EDEADLK;
  if (!is_booted.load()) return -ENODEV;
  if (boot_busy.exchange(true)) return -EBUSY;
  const detail::host_hooks* hooks = host_hooks_current.load();
  if (hooks) hooks->before_shutdown();  // closes the attach socket; stops what it spawned
  // Every user task must be gone; zombies nobody joined are reaped here.
  int alive = 0;
  for_each_process([&](task_struct* p) {
    unsigned flags;
    {
      spin_irqsave_guard g(&p->pi_lock);
      flags = p->flags;
    }
    if ((flags & PF_KTHREAD) || p->pid == 1) return;
    if (p->exit_state.load() == EXIT_ZOMBIE) {
      if (!p->join_claimed.exchange(true)) release_task(p);
      return;
    }
    printk_fmt("shutdown: task %d (%s) is still alive", p->pid, p->comm);
    alive++;
  });
  if (alive) {
    if (hooks) hooks->after_boot();
    boot_busy.store(false);
    return -EBUSY;
  }
  complete(&halt_request);
  wait_for_completion(&halt_done);
  tick_exit();  // before the threads go: the clock signals them by their thread ids
  arch::cpu_threads_join();
  arch::offload_exit();
  net::net_dev_exit();
  arch::io_exit();
  irq_exit_cleanup();
  long leaked = nr_live_task_structs();
  WARN(leaked, "%ld task_structs leaked at shutdown", leaked);
  softirq_free();
  free_sched_domains();
  sched_exit();
  hrtimers_exit();
  fork_exit();
  pidmap_exit();
  cpuhp_exit();
  trace_boot_exit();
  delete[] cpu_hot_array;
  cpu_hot_array = nullptr;
  nr_cpu_ids_ = 0;
  cpu_online_mask.store({});
  cpu_active_mask.store({});
  system_state.store(SYSTEM_BOOTING);
  is_booted.store(false);
  boot_busy.store(false);
  return leaked ? -EFAULT : 0;
}

bool booted() {
  return is_booted.load(std::memory_order_acquire) || system_state.load() != SYSTEM_BOOTING;
}
const boot_params& boot_parameters() {
  return boot_params_current;
}
unsigned nr_cpu_ids() {
  return nr_cpu_ids_;
}

}  // namespace cpustop
