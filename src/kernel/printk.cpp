// The kernel log buffer. Lines are formatted on the caller's stack and copied into a fixed ring
// under a leaf spin lock, so printk is safe from interrupt context and stop functions.
#include "kernel/printk.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

#include "kernel/locking/spinlock.h"
#include "kernel/system.h"
#include "kernel/task.h"
#include "kernel/time/jiffies.h"

namespace cpustop {

namespace {

constexpr std::size_t LOG_BUF_LEN = 1 << 20;
char log_buf[LOG_BUF_LEN];
std::size_t log_head;  // total bytes ever written; the ring holds the last LOG_BUF_LEN
raw_spinlock_t logbuf_lock{0, LOCK_PRINTK, 0};
std::atomic<bool> oops_in_progress{false};

void log_store(const char* line, std::size_t len) {
  if (unlikely(oops_in_progress.load(std::memory_order_relaxed))) {
    // The failing context may hold the log lock, or be lockdep reporting: store if free.
    if (!do_raw_spin_trylock(&logbuf_lock)) return;
    for (std::size_t i = 0; i < len; i++) log_buf[(log_head + i) % LOG_BUF_LEN] = line[i];
    log_head += len;
    do_raw_spin_unlock(&logbuf_lock);
    return;
  }
  unsigned long flags = __raw_spin_lock_irqsave(&logbuf_lock);
  for (std::size_t i = 0; i < len; i++) log_buf[(log_head + i) % LOG_BUF_LEN] = line[i];
  log_head += len;
  __raw_spin_unlock_irqrestore(&logbuf_lock, flags);
}

}  // namespace

void printk_fmt(const char* fmt, ...) {
  char line[512];
  u64 ts = arch::local_clock() - boot_clock;
  int n = std::snprintf(line, sizeof(line), "[%5llu.%06llu] ",
                        static_cast<unsigned long long>(ts / NSEC_PER_SEC),
                        static_cast<unsigned long long>((ts % NSEC_PER_SEC) / 1000));
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(line + n, sizeof(line) - static_cast<std::size_t>(n) - 1, fmt, ap);
  va_end(ap);
  std::size_t len = static_cast<std::size_t>(n) +
                    std::min<std::size_t>(static_cast<std::size_t>(std::max(m, 0)),
                                          sizeof(line) - static_cast<std::size_t>(n) - 2);
  line[len++] = '\n';
  log_store(line, len);
  if (boot_params_current.console || oops_in_progress.load(std::memory_order_relaxed))
    arch::console_write(line, len);
}

void console_verbose() {
  oops_in_progress.store(true, std::memory_order_relaxed);
}

void printk(const std::string& s) {
  printk_fmt("%s", s.c_str());
}

void printk_reset() {
  unsigned long flags = __raw_spin_lock_irqsave(&logbuf_lock);
  log_head = 0;
  __raw_spin_unlock_irqrestore(&logbuf_lock, flags);
}

std::string dmesg() {
  unsigned long flags = __raw_spin_lock_irqsave(&logbuf_lock);
  std::size_t start = log_head > LOG_BUF_LEN ? log_head - LOG_BUF_LEN : 0;
  std::string out;
  out.reserve(log_head - start);
  for (std::size_t i = start; i < log_head; i++) out += log_buf[i % LOG_BUF_LEN];
  __raw_spin_unlock_irqrestore(&logbuf_lock, flags);
  // A wrapped ring starts mid-line: drop the partial first line.
  if (start > 0) {
    std::size_t nl = out.find('\n');
    out.erase(0, nl == std::string::npos ? out.size() : nl + 1);
  }
  return out;
}

}  // namespace cpustop
