// The tick rate and jiffies (the kernel's include/linux/jiffies.h), derived from local_clock().
#pragma once

#include "arch/arch.h"
#include "kernel/percpu.h"

namespace cpustop {

extern unsigned HZ;
extern u64 TICK_NSEC;
extern u64 boot_clock;  // local_clock() at boot: time 0 of the machine
inline u64 get_jiffies_64() {
  return (arch::local_clock() - boot_clock) / TICK_NSEC;
}

}  // namespace cpustop
