#pragma once

#include "cpustop/softirq.h"

namespace cpustop {

void softirq_init();
// early_initcall: registers ksoftirqd/N with smpboot.
int spawn_ksoftirqd();
void softirq_exit();  // at halt: stop ksoftirqd
void softirq_free();  // after the CPUs are gone
bool local_softirq_pending();
// From irq exit with interrupts handled: run pending softirqs now.
void invoke_softirq();

}  // namespace cpustop
