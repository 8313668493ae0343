// Initcall levels: the built-in initcalls, those registered by the program and those passed for
// one boot, run level by level in the kernel's order.
#include "kernel/init.h"

#include <vector>

#include "kernel/printk.h"
#include "kernel/softirq.h"
#include "kernel/stop_machine.h"
#include "kernel/system.h"
#include "kernel/task.h"

namespace cpustop {

namespace net {
int net_dev_init();  // src/net/dev.cpp
}

namespace {

struct builtin_initcall {
  initcall_level level;
  const char* name;
  int (*fn)();
  bool linux_order_only;
};

// The kernel's own initcalls that cpustop has. cpu_stop_init is an early_initcall in Linux; in
// the LegoOS order kernel_init calls it directly after SMP bring-up instead.
const builtin_initcall builtin_initcalls[] = {
    {initcall_level::early, "cpu_stop_init", cpu_stop_init, true},
    {initcall_level::early, "spawn_ksoftirqd", spawn_ksoftirqd, false},
    {initcall_level::subsys, "net_dev_init", net::net_dev_init, false},
};

std::vector<initcall>& registered_initcalls() {
  static std::vector<initcall> v;
  return v;
}

void do_initcall_level(initcall_level level) {
  bool lego = boot_params_current.stop_init == stop_init_order::lego_order;
  for (const auto& b : builtin_initcalls)
    if (b.level == level && !(b.linux_order_only && lego)) do_one_initcall(b.name, b.fn);
  for (const auto& ic : registered_initcalls())
    if (ic.level == level) do_one_initcall(ic.name, ic.fn);
  for (const auto& ic : boot_params_current.initcalls)
    if (ic.level == level) do_one_initcall(ic.name, ic.fn);
}

}  // namespace

const char* initcall_level_name(initcall_level level) {
  static const char* const names[] = {
      "early",  "pure",      "core",        "core_sync",   "postcore", "postcore_sync",
      "arch",   "arch_sync", "subsys",      "subsys_sync", "fs",       "fs_sync",
      "rootfs", "device",    "device_sync", "late",        "late_sync"};
  return names[static_cast<int>(level)];
}

void register_initcall(initcall_level level, std::string name, std::function<int()> fn) {
  registered_initcalls().push_back({level, std::move(name), std::move(fn)});
}

int do_one_initcall(const std::string& name, const std::function<int()>& fn) {
  task_struct* self = get_current();
  printk_fmt("calling  %s @ %d", name.c_str(), self ? self->pid : 0);
  int count = __preempt_count();
  u64 t0 = arch::local_clock();
  int ret = fn();
  u64 usecs = (arch::local_clock() - t0) / 1000;
  printk_fmt("initcall %s returned %d after %llu usecs", name.c_str(), ret,
             static_cast<unsigned long long>(usecs));
  if (__preempt_count() != count) {
    printk_fmt("initcall %s: preemption imbalance", name.c_str());
    current_thread_info()->preempt_count = count;
  }
  if (__irqs_disabled()) {
    printk_fmt("initcall %s: disabled interrupts", name.c_str());
    local_irq_enable();
  }
  return ret;
}

void do_pre_smp_initcalls() {
  printk_fmt("do_pre_smp_initcalls: level early");
  do_initcall_level(initcall_level::early);
}

void do_initcalls() {
  for (int l = static_cast<int>(initcall_level::pure);
       l <= static_cast<int>(initcall_level::late_sync); l++) {
    printk_fmt("do_initcalls: level %s", initcall_level_name(static_cast<initcall_level>(l)));
    do_initcall_level(static_cast<initcall_level>(l));
  }
}

}  // namespace cpustop
