// The global load average (kernel/sched/loadavg.c): every LOAD_FREQ (5 s plus a tick) the number
// of runnable tasks is folded into three exponentially decaying averages, in FSHIFT fixed point.
#include "kernel/sched/sched.h"
#include "kernel/sched/stat.h"

namespace cpustop {

namespace {

std::atomic<unsigned long> avenrun[3];
std::atomic<u64> calc_load_update;  // jiffies of the next sample

u64 load_freq() {
  return 5 * u64{HZ} + 1;
}

unsigned long calc_load(unsigned long load, unsigned long exp, unsigned long active) {
  unsigned long newload = load * exp + active * (FIXED_1 - exp);
  if (active >= load) newload += FIXED_1 - 1;
  return newload / FIXED_1;
}

// x^n in fixed point, by squaring (the kernel's fixed_power_int).
unsigned long fixed_power_int(unsigned long x, unsigned n) {
  unsigned long result = FIXED_1;
  while (n) {
    if (n & 1) result = (result * x + FIXED_1 / 2) >> FSHIFT;
    n >>= 1;
    if (n) x = (x * x + FIXED_1 / 2) >> FSHIFT;
  }
  return result;
}

// n periods at once (calc_load_n): what NO_HZ catch-up uses.
unsigned long calc_load_n(unsigned long load, unsigned long exp, unsigned long active, unsigned n) {
  return calc_load(load, fixed_power_int(exp, n), active);
}

const unsigned long exps[3] = {EXP_1, EXP_5, EXP_15};

}  // namespace

void calc_global_load_init() {
  for (auto& a : avenrun) a.store(0, std::memory_order_relaxed);
  calc_load_update.store(load_freq(), std::memory_order_relaxed);
}

void calc_global_load_tick() {
  u64 due = calc_load_update.load(std::memory_order_relaxed);
  u64 now = get_jiffies_64();
  if (now < due) return;
  // Periods in which no CPU ticked had no runnable task: they decay as idle before this sample.
  u64 missed = (now - due) / load_freq();
  if (!calc_load_update.compare_exchange_strong(due, due + (missed + 1) * load_freq(),
                                                std::memory_order_relaxed))
    return;  // another CPU takes this sample
  unsigned long active = nr_running() * FIXED_1;
  for (int i = 0; i < 3; i++) {
    unsigned long a = avenrun[i].load(std::memory_order_relaxed);
    if (missed) a = calc_load_n(a, exps[i], 0, static_cast<unsigned>(missed));
    avenrun[i].store(calc_load(a, exps[i], active), std::memory_order_relaxed);
  }
}

void get_avenrun(unsigned long* loads, unsigned long offset, int shift) {
  u64 due = calc_load_update.load(std::memory_order_relaxed);
  u64 now = get_jiffies_64();
  unsigned missed = now >= due ? static_cast<unsigned>((now - due) / load_freq()) : 0;
  for (int i = 0; i < 3; i++) {
    unsigned long a = avenrun[i].load(std::memory_order_relaxed);
    if (missed) a = calc_load_n(a, exps[i], 0, missed);
    loads[i] = (a + offset) << shift;
  }
}

}  // namespace cpustop
