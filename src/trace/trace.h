#pragma once

namespace cpustop {

// At boot: (re)allocate the ring buffers for nr CPUs (plus one for threads outside cpustop).
void trace_boot_init(unsigned nr_cpus);
// At shutdown: buffers stay readable until the next boot.
void trace_boot_exit();

}  // namespace cpustop
