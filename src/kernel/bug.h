// The one way to report a bug (the kernel's include/asm-generic/bug.h and kernel/panic.c).
//
//   BUG(), BUG_ON(cond)      "kernel BUG at <file>:<line>!", then the machine halts
//   panic(fmt, ...)          "Kernel panic - not syncing: <msg>", then the machine halts
//   WARN(cond, fmt, ...)     the message, then "WARNING: CPU: n PID: p at <file>:<line> <func>";
//   WARN_ON(cond)            execution continues and the expression yields cond, so that
//   WARN_ON_ONCE(cond)       `if (WARN_ON(x)) return -EINVAL;` reads as in the kernel
//   WARN_ONCE(cond, fmt,...) (the _ONCE forms report once per call site)
//
// Every report names the running task and CPU with the kernel's "CPU: 1 PID: 42 Comm: worker"
// line and goes through printk, so it is in dmesg() and on the arch console. A halting report is
// written to the console even when boot_params::console is off (console_verbose()). Any context,
// including interrupts, stop functions and threads outside cpustop; never allocates.
#pragma once

#include <atomic>

#include "kernel/compiler.h"

namespace cpustop {

[[noreturn]] void __bug(const char* file, int line, const char* func);
[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// fmt may be null (WARN_ON).
void __warn(const char* file, int line, const char* func, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));

}  // namespace cpustop

#define BUG() ::cpustop::__bug(__FILE__, __LINE__, __func__)
#define BUG_ON(cond)           \
  do {                         \
    if (unlikely(cond)) BUG(); \
  } while (0)

#define WARN(cond, ...)                                                                        \
  ({                                                                                           \
    bool __ret_warn_on = !!(cond);                                                             \
    if (unlikely(__ret_warn_on)) ::cpustop::__warn(__FILE__, __LINE__, __func__, __VA_ARGS__); \
    unlikely(__ret_warn_on);                                                                   \
  })
#define WARN_ON(cond)                                                                      \
  ({                                                                                       \
    bool __ret_warn_on = !!(cond);                                                         \
    if (unlikely(__ret_warn_on)) ::cpustop::__warn(__FILE__, __LINE__, __func__, nullptr); \
    unlikely(__ret_warn_on);                                                               \
  })
#define WARN_ONCE(cond, ...)                                                      \
  ({                                                                              \
    static std::atomic<bool> __warned{false};                                     \
    bool __ret_warn_once = !!(cond);                                              \
    if (unlikely(__ret_warn_once) && !__warned.load(std::memory_order_relaxed) && \
        !__warned.exchange(true, std::memory_order_relaxed))                      \
      ::cpustop::__warn(__FILE__, __LINE__, __func__, __VA_ARGS__);               \
    unlikely(__ret_warn_once);                                                    \
  })
#define WARN_ON_ONCE(cond) WARN_ONCE(cond, nullptr)
