// BUG, WARN and panic (kernel/panic.c, lib/bug.c): the report, the task and CPU it happened on,
// and the halt.
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "kernel/bug.h"
#include "kernel/printk.h"
#include "kernel/task.h"

namespace cpustop {

namespace {

std::atomic<bool> tainted_warn{false};  // TAINT_WARN: a WARN fired since the process started

// "src/kernel/sched/core.cpp" rather than the build machine's absolute path.
const char* short_file(const char* file) {
  const char* s = std::strstr(file, "src/");
  return s ? s : file;
}

// The kernel's dump_stack_print_info() line.
void print_task_line() {
  task_struct* p = get_current();
  printk_fmt("CPU: %d PID: %d Comm: %s %s", raw_smp_processor_id(), p ? p->pid : 0,
             p ? p->comm : "(host thread)",
             tainted_warn.load(std::memory_order_relaxed) ? "Tainted: G        W" : "Not tainted");
}

[[noreturn]] void halt() {
  printk_fmt("---[ end trace ]---");
  arch::panic_halt();
}

}  // namespace

void __bug(const char* file, int line, const char* func) {
  console_verbose();
  printk_fmt("------------[ cut here ]------------");
  printk_fmt("kernel BUG at %s:%d! (%s)", short_file(file), line, func);
  print_task_line();
  halt();
}

void panic(const char* fmt, ...) {
  console_verbose();
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  printk_fmt("Kernel panic - not syncing: %s", msg);
  print_task_line();
  halt();
}

void __warn(const char* file, int line, const char* func, const char* fmt, ...) {
  printk_fmt("------------[ cut here ]------------");
  if (fmt) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printk_fmt("%s", msg);
  }
  task_struct* p = get_current();
  printk_fmt("WARNING: CPU: %d PID: %d at %s:%d %s", raw_smp_processor_id(), p ? p->pid : 0,
             short_file(file), line, func);
  print_task_line();
  tainted_warn.store(true, std::memory_order_relaxed);
  printk_fmt("---[ end trace ]---");
}

}  // namespace cpustop
