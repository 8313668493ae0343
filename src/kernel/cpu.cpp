// CPU hotplug states (kernel/cpu.c). Each CPU walks a table of states; startup callbacks run on
// the way up, teardown callbacks in reverse on the way down. The BP states run on the control
// task, the STARTING states on the AP with interrupts off, and the AP online states (which the
// kernel runs on cpuhp/N) on the control task as well.
#include "kernel/cpu.h"

#include <cstdio>
#include <mutex>

#include "kernel/bug.h"
#include "kernel/fork.h"
#include "kernel/init.h"
#include "kernel/printk.h"
#include "kernel/sched/hotplug.h"
#include "kernel/sched/wait.h"
#include "kernel/smpboot.h"
#include "kernel/stop_machine.h"
#include "kernel/system.h"
#include "kernel/time/hrtimer.h"
#include "kernel/workqueue.h"
#include "trace/events.h"

namespace cpustop {

namespace {

struct cpuhp_step {
  std::string name;
  cpuhp_callback startup;
  cpuhp_callback teardown;
};

struct cpuhp_cpu_state {
  std::atomic<int> state{CPUHP_OFFLINE};
  completion done_up;
  completion done_down;
  std::atomic<u32> boot_req{0};  // what the AP thread waits for: BOOT_* below
  // The direction of the last walk (the kernel's st->bringup): a CPU is dying from the start of
  // a down walk until an up walk begins, rollbacks included.
  std::atomic<bool> bringup{true};
};

enum : u32 { BOOT_WAIT = 0, BOOT_UP = 1, BOOT_EXIT = 2 };

cpuhp_step cpuhp_hp_states[CPUHP_ONLINE + 1];
cpuhp_cpu_state* per_cpu_cpuhp_state;
mutex cpu_add_remove_lock;

int cpuhp_invoke_callback(unsigned cpu, int state, bool bringup) {
  const cpuhp_step& step = cpuhp_hp_states[state];
  const cpuhp_callback& cb = bringup ? step.startup : step.teardown;
  if (!cb) return 0;
  trace_cpuhp_enter(cpu, state, step.name.c_str());
  int ret = cb(cpu);
  trace_cpuhp_exit(cpu, state, ret);
  return ret;
}

bool starting_state(int state) {
  return state > CPUHP_AP_OFFLINE && state <= CPUHP_AP_ONLINE;
}

int bringup_cpu(unsigned cpu) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  reinit_completion(&st->done_up);
  st->boot_req.store(BOOT_UP, std::memory_order_release);
  cond_wake(&st->boot_req);
  wait_for_completion(&st->done_up);
  return cpu_online(static_cast<int>(cpu)) ? 0 : -EIO;
}

// take_cpu_down: on the dying CPU, inside stop_machine, with every other CPU stopped.
int take_cpu_down(void* arg) {
  auto cpu = *static_cast<unsigned*>(arg);
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  // __cpu_disable(): from now on the CPU is offline.
  cpu_online_mask.clear(cpu);
  // The DYING callbacks (the STARTING section in reverse); they cannot fail.
  for (int state = CPUHP_AP_ONLINE; state > CPUHP_AP_OFFLINE; state--) {
    st->state.store(state);
    int ret = cpuhp_invoke_callback(cpu, state, false);
    WARN(ret, "cpu%u: dying state %d failed: %d", cpu, state, ret);
  }
  st->state.store(CPUHP_AP_OFFLINE);
  hrtimers_cpu_dying(static_cast<int>(cpu), static_cast<int>(cpu_online_mask.load().first()));
  // Park the stopper (we are running in it): works queued before this still drain first.
  stop_machine_park(static_cast<int>(cpu));
  return 0;
}

int takedown_cpu(unsigned cpu) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  reinit_completion(&st->done_down);
  unsigned arg = cpu;
  cpumask only = cpumask::of(cpu);
  int err = stop_machine_cpuslocked(take_cpu_down, &arg, &only);
  if (err) return err;
  // Wait for the CPU's idle loop to notice and report itself dead.
  wait_for_completion(&st->done_down);
  printk_fmt("smpboot: CPU %u is now offline", cpu);
  return 0;
}

void init_states() {
  for (auto& s : cpuhp_hp_states) s = {};
  cpuhp_hp_states[CPUHP_OFFLINE] = {"offline", nullptr, nullptr};
  cpuhp_hp_states[CPUHP_CREATE_THREADS] = {
      "threads:prepare", [](unsigned cpu) { return smpboot_create_threads(cpu); }, nullptr};
  cpuhp_hp_states[CPUHP_BRINGUP_CPU] = {"cpu:bringup", bringup_cpu, nullptr};
  cpuhp_hp_states[CPUHP_AP_OFFLINE] = {"ap:offline", nullptr, nullptr};
  cpuhp_hp_states[CPUHP_AP_SCHED_STARTING] = {"sched:starting", sched_cpu_starting,
                                              sched_cpu_dying};
  cpuhp_hp_states[CPUHP_AP_ONLINE] = {"ap:online", nullptr, nullptr};
  cpuhp_hp_states[CPUHP_TEARDOWN_CPU] = {"cpu:teardown", nullptr, takedown_cpu};
  cpuhp_hp_states[CPUHP_AP_ONLINE_IDLE] = {"ap:online-idle", nullptr, nullptr};
  cpuhp_hp_states[CPUHP_AP_SCHED_WAIT_EMPTY] = {"sched:waitempty", nullptr, sched_cpu_wait_empty};
  cpuhp_hp_states[CPUHP_AP_SMPBOOT_THREADS] = {
      "smpboot/threads:online", [](unsigned cpu) { return smpboot_unpark_threads(cpu); },
      [](unsigned cpu) { return smpboot_park_threads(cpu); }};
  cpuhp_hp_states[CPUHP_AP_ACTIVE] = {"sched:active", sched_cpu_activate, sched_cpu_deactivate};
  cpuhp_hp_states[CPUHP_ONLINE] = {"online", nullptr, nullptr};
}

// The AP's STARTING section, on the AP with interrupts off.
void notify_cpu_starting(unsigned cpu) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  unsigned long flags = local_irq_save();
  while (st->state.load() < CPUHP_AP_ONLINE) {
    int state = st->state.load() + 1;
    st->state.store(state);
    int ret = cpuhp_invoke_callback(cpu, state, true);
    WARN(ret, "cpu%u: starting state %s failed: %d", cpu, cpuhp_hp_states[state].name.c_str(), ret);
  }
  local_irq_restore(flags);
}

// The BP walks up from the CPU's state to target. As the kernel, the state moves first and then
// its callback runs: bringup_cpu's AP continues from there and leaves the state at ONLINE_IDLE.
int cpuhp_up_callbacks(unsigned cpu, int target) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  while (st->state.load() < target) {
    int state = st->state.load() + 1;
    st->state.store(state);
    if (starting_state(state) || state == CPUHP_TEARDOWN_CPU) continue;  // AP-side / no startup
    int ret = cpuhp_invoke_callback(cpu, state, true);
    if (ret) {
      st->state.store(state - 1);
      return ret;
    }
  }
  return 0;
}

// The BP walks down to target; takedown_cpu runs the STARTING section's teardowns on the AP.
int cpuhp_down_callbacks(unsigned cpu, int target) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  while (st->state.load() > target) {
    int state = st->state.load();
    if (starting_state(state)) {  // done by take_cpu_down
      st->state.store(state - 1);
      continue;
    }
    int ret = cpuhp_invoke_callback(cpu, state, false);
    if (ret) return ret;
    if (st->state.load() == state) st->state.store(state - 1);
  }
  return 0;
}

int _cpu_up(unsigned cpu, int target) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  if (cpu_online(static_cast<int>(cpu)) || st->state.load() != CPUHP_OFFLINE) return -EINVAL;
  int prev = st->state.load();
  st->bringup.store(true);
  int ret = cpuhp_up_callbacks(cpu, target);
  if (ret) {
    printk_fmt("cpu%u: bring-up failed at state %d (%s): %d; rolling back", cpu,
               st->state.load() + 1, cpuhp_hp_states[st->state.load() + 1].name.c_str(), ret);
    st->bringup.store(false);
    cpuhp_down_callbacks(cpu, prev);
  }
  return ret;
}

int _cpu_down(unsigned cpu, int target) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  if (!cpu_online(static_cast<int>(cpu)) || st->state.load() != CPUHP_ONLINE) return -EINVAL;
  if (num_online_cpus() == 1) return -EBUSY;
  int prev = st->state.load();
  st->bringup.store(false);
  int ret = cpuhp_down_callbacks(cpu, target);
  if (ret) {
    printk_fmt("cpu%u: teardown failed at state %d (%s): %d; rolling back", cpu, st->state.load(),
               cpuhp_hp_states[st->state.load()].name.c_str(), ret);
    st->state.store(st->state.load() - 1);
    st->bringup.store(true);
    cpuhp_up_callbacks(cpu, prev);
  }
  return ret;
}

struct down_work {
  work_struct work;
  unsigned cpu;
  int ret;
};

task_struct** idle_threads;

}  // namespace

stat_u64 hotplug_offline_count, hotplug_online_count;

// ---- The hotplug lock ---------------------------------------------------------------------------

percpu_rw_semaphore cpu_hotplug_lock;

void cpus_read_lock() {
  if (per_cpu_cpuhp_state) percpu_down_read(&cpu_hotplug_lock);
}
void cpus_read_unlock() {
  if (per_cpu_cpuhp_state) percpu_up_read(&cpu_hotplug_lock);
}
void cpus_write_lock() {
  percpu_down_write(&cpu_hotplug_lock);
}
void cpus_write_unlock() {
  percpu_up_write(&cpu_hotplug_lock);
}
void lockdep_assert_cpus_held() {
  percpu_rwsem_assert_held(&cpu_hotplug_lock);
}

// ---- Bring-up ----------------------------------------------------------------------------------

void cpuhp_init() {
  init_states();
  per_cpu_cpuhp_state = new cpuhp_cpu_state[nr_cpu_ids_];
  for (unsigned c = 0; c < nr_cpu_ids_; c++) {
    init_completion(&per_cpu_cpuhp_state[c].done_up);
    init_completion(&per_cpu_cpuhp_state[c].done_down);
  }
  idle_threads = new task_struct*[nr_cpu_ids_]();
  percpu_init_rwsem(&cpu_hotplug_lock);
  mutex_init(&cpu_add_remove_lock);
}

void cpuhp_exit() {
  for (unsigned c = 0; c < nr_cpu_ids_; c++) {
    if (idle_threads[c]) {
      arch::context_destroy(&idle_threads[c]->ctx);
      delete idle_threads[c];
    }
  }
  delete[] idle_threads;
  idle_threads = nullptr;
  delete[] per_cpu_cpuhp_state;
  per_cpu_cpuhp_state = nullptr;
}

task_struct* idle_task(unsigned cpu) {
  return idle_threads ? idle_threads[cpu] : nullptr;
}

void set_idle_task(unsigned cpu, task_struct* idle) {
  idle_threads[cpu] = idle;
}

void boot_cpu_init(unsigned cpu) {
  cpu_online_mask.set(cpu);
  cpu_active_mask.set(cpu);
  cpu_possible_mask.store(cpumask::first_n(nr_cpu_ids_));
  per_cpu_cpuhp_state[cpu].state.store(CPUHP_ONLINE);
}

static void idle_threads_init() {
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++) {
    if (idle_threads[cpu]) continue;
    auto* idle = new task_struct;
    init_idle(idle, static_cast<int>(cpu));
    idle_threads[cpu] = idle;
  }
}

void smp_init() {
  idle_threads_init();
  printk_fmt("smp: Bringing up secondary CPUs ...");
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++)
    if (!cpu_online(static_cast<int>(cpu))) cpu_up(cpu);
  printk_fmt("smp: Brought up 1 node, %u CPUs", num_online_cpus());
}

int cpu_up(unsigned int cpu) {
  if (cpu >= nr_cpu_ids_ || !per_cpu_cpuhp_state) return -EINVAL;
  mutex_lock(&cpu_add_remove_lock);
  cpus_write_lock();
  int ret = _cpu_up(cpu, CPUHP_ONLINE);
  if (!ret && system_state.load() == SYSTEM_RUNNING) stat_add(hotplug_online_count, 1);
  cpus_write_unlock();
  mutex_unlock(&cpu_add_remove_lock);
  return ret;
}

static int cpu_down_maps_locked(unsigned cpu) {
  mutex_lock(&cpu_add_remove_lock);
  cpus_write_lock();
  int ret = _cpu_down(cpu, CPUHP_OFFLINE);
  if (!ret) stat_add(hotplug_offline_count, 1);
  cpus_write_unlock();
  mutex_unlock(&cpu_add_remove_lock);
  return ret;
}

int cpu_down(unsigned int cpu) {
  if (cpu >= nr_cpu_ids_ || !per_cpu_cpuhp_state) return -EINVAL;
  if (!cpu_online(static_cast<int>(cpu))) return -EINVAL;
  if (num_online_cpus() == 1) return -EBUSY;
  task_struct* self = schedulable_current();
  if (!self) return cpu_down_maps_locked(cpu);
  // A task must not take its own CPU down: run the teardown on another CPU's kworker, as the
  // kernel does with work_on_cpu().
  cpumask others = cpu_online_mask.load();
  others.clear(cpu);
  down_work w;
  INIT_WORK(&w.work, [](work_struct* work) {
    auto* dw = container_of(work, down_work, work);
    dw->ret = cpu_down_maps_locked(dw->cpu);
  });
  w.cpu = cpu;
  w.ret = -EBUSY;
  if (others.empty() || !queue_work_on(static_cast<int>(others.first()), &w.work)) return -EBUSY;
  flush_work(&w.work);
  return w.ret;
}

// ---- Dynamic states
// ------------------------------------------------------------------------------

static int cpuhp_dyn_end(int start) {
  switch (start) {
    case CPUHP_BP_PREPARE_DYN:
      return CPUHP_BP_PREPARE_DYN_END;
    case CPUHP_AP_STARTING_DYN:
      return CPUHP_AP_STARTING_DYN_END;
    case CPUHP_AP_ONLINE_DYN:
      return CPUHP_AP_ONLINE_DYN_END;
  }
  return -1;
}

// Runs a state's callback for one CPU where the state says: STARTING ones on the CPU itself.
static int cpuhp_issue_call(unsigned cpu, int state, bool bringup) {
  if (!starting_state(state)) return cpuhp_invoke_callback(cpu, state, bringup);
  struct call {
    unsigned cpu;
    int state;
    bool bringup;
  } c{cpu, state, bringup};
  return stop_one_cpu(
      cpu,
      [](void* arg) {
        auto* c = static_cast<call*>(arg);
        return cpuhp_invoke_callback(c->cpu, c->state, c->bringup);
      },
      &c);
}

int cpuhp_setup_state(cpuhp_state state, const std::string& name, cpuhp_callback startup,
                      cpuhp_callback teardown) {
  if (!per_cpu_cpuhp_state || state <= CPUHP_OFFLINE || state >= CPUHP_ONLINE || name.empty())
    return -EINVAL;
  mutex_lock(&cpu_add_remove_lock);
  int slot = state;
  int end = cpuhp_dyn_end(state);
  int ret = 0;
  if (end >= 0) {
    while (slot < end && !cpuhp_hp_states[slot].name.empty()) slot++;
    if (slot >= end) ret = -ENOSPC;
  } else if (!cpuhp_hp_states[slot].name.empty()) {
    ret = -EBUSY;
  }
  if (!ret) {
    cpuhp_hp_states[slot] = {name, startup, teardown};
    // Bring the new state up on every CPU already past it, in CPU order.
    std::vector<unsigned> done;
    for (unsigned cpu : cpu_online_mask.load()) {
      if (per_cpu_cpuhp_state[cpu].state.load() < slot) continue;
      ret = startup ? cpuhp_issue_call(cpu, slot, true) : 0;
      if (ret) break;
      done.push_back(cpu);
    }
    if (ret) {
      for (auto it = done.rbegin(); it != done.rend(); ++it)
        if (teardown) cpuhp_issue_call(*it, slot, false);
      cpuhp_hp_states[slot] = {};
    }
  }
  mutex_unlock(&cpu_add_remove_lock);
  if (ret) return ret;
  return end >= 0 ? slot : 0;
}

int cpuhp_remove_state(int state) {
  if (!per_cpu_cpuhp_state || state <= CPUHP_OFFLINE || state >= CPUHP_ONLINE) return -EINVAL;
  mutex_lock(&cpu_add_remove_lock);
  int ret = 0;
  bool dynamic = (state >= CPUHP_BP_PREPARE_DYN && state < CPUHP_BP_PREPARE_DYN_END) ||
                 (state >= CPUHP_AP_STARTING_DYN && state < CPUHP_AP_STARTING_DYN_END) ||
                 (state >= CPUHP_AP_ONLINE_DYN && state < CPUHP_AP_ONLINE_DYN_END);
  if (!dynamic || cpuhp_hp_states[state].name.empty()) {
    ret = -EINVAL;
  } else {
    cpumask online = cpu_online_mask.load();
    for (int cpu = static_cast<int>(nr_cpu_ids_) - 1; cpu >= 0; cpu--)
      if (online.test(static_cast<unsigned>(cpu)) &&
          per_cpu_cpuhp_state[cpu].state.load() >= state && cpuhp_hp_states[state].teardown)
        cpuhp_issue_call(static_cast<unsigned>(cpu), state, false);
    cpuhp_hp_states[state] = {};
  }
  mutex_unlock(&cpu_add_remove_lock);
  return ret;
}

void start_secondary(unsigned cpu) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  notify_cpu_starting(cpu);
  cpu_online_mask.set(cpu);
  // cpuhp_online_idle(): the stopper must take work before this CPU schedules anything
  // (45178ac0cea8), so it is enabled here, on the AP, ahead of the idle loop, and before the BP
  // is told to go on (which moves the state past ONLINE_IDLE).
  st->state.store(CPUHP_AP_ONLINE_IDLE);
  if (stop_machine_ready() && cpu_stopper_task(static_cast<int>(cpu)))
    stop_machine_unpark(static_cast<int>(cpu));
  complete(&st->done_up);
  cpu_startup_entry();
}

void cpu_thread_main(unsigned cpu) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  if (cpu == 0) {
    task_struct* idle = idle_threads[0];
    arch::set_this_cpu_slot(&idle->thread_info);
    arch::context_init_thread(&idle->ctx);
    start_kernel();  // returns when CPU 0 goes offline or the machine halts
    arch::set_this_cpu_slot(nullptr);
    if (machine_halting.load(std::memory_order_acquire)) return;
    complete(&st->done_down);
  }
  // A CPU that is offline waits here for its next bring-up (the arch's "play dead").
  for (;;) {
    // Offline for as long as it takes: no spinning, a block until the next request.
    u32 req;
    while ((req = st->boot_req.load(std::memory_order_acquire)) == BOOT_WAIT)
      cond_block(&st->boot_req, static_cast<u32>(BOOT_WAIT), COND_FOREVER);
    if (req == BOOT_EXIT) return;
    st->boot_req.store(BOOT_WAIT, std::memory_order_relaxed);
    task_struct* idle = idle_threads[cpu];
    arch::set_this_cpu_slot(&idle->thread_info);
    arch::context_init_thread(&idle->ctx);
    start_secondary(cpu);
    arch::set_this_cpu_slot(nullptr);
    if (machine_halting.load(std::memory_order_acquire)) return;
    complete(&st->done_down);
  }
}

void cpuhp_release_waiting_cpus() {
  for (unsigned c = 0; c < nr_cpu_ids_; c++) {
    per_cpu_cpuhp_state[c].boot_req.store(BOOT_EXIT, std::memory_order_release);
    cond_wake(&per_cpu_cpuhp_state[c].boot_req);
  }
}

bool cpu_dying(int cpu) {
  return per_cpu_cpuhp_state && !per_cpu_cpuhp_state[cpu].bringup.load();
}

// ---- Queries ---------------------------------------------------------------------------------

bool cpu_online(int cpu) {
  return cpu_online_mask.test(cpu);
}
bool cpu_active(int cpu) {
  return cpu_active_mask.test(cpu);
}
unsigned num_online_cpus() {
  return cpu_online_mask.weight();
}
cpumask cpu_online_mask_snapshot() {
  return cpu_online_mask.load();
}
cpumask cpu_active_mask_snapshot() {
  return cpu_active_mask.load();
}

int cpuhp_get_state(unsigned cpu) {
  return per_cpu_cpuhp_state && cpu < nr_cpu_ids_ ? per_cpu_cpuhp_state[cpu].state.load()
                                                  : CPUHP_INVALID;
}

std::string cpuhp_state_name(int state) {
  if (state < 0 || state > CPUHP_ONLINE) return {};
  return cpuhp_hp_states[state].name;
}

}  // namespace cpustop
