// The kernel log: "[    1.234567] message" lines in a ring buffer, read by dmesg().
#pragma once

namespace cpustop {

// printf-style; any context (including interrupt and stop functions); never allocates.
void printk_fmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Reports once per call site (WARN_ONCE-style) and returns true if it reported.
#define printk_once(...)                     \
  ([&]() {                                   \
    static std::atomic<bool> __done{false};  \
    if (__done.exchange(true)) return false; \
    ::cpustop::printk_fmt(__VA_ARGS__);      \
    return true;                             \
  }())

void printk_reset();  // at boot: a new log

// From a BUG or panic on: every line goes to the console too, and the log no longer waits for a
// lock that the failing context may hold (the kernel's console_verbose() and oops_in_progress).
void console_verbose();

}  // namespace cpustop
