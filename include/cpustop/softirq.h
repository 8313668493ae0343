// Softirqs (kernel/softirq.c): deferred work raised on a CPU and run on that same CPU, either on
// the way out of interrupt handling or by that CPU's ksoftirqd/N thread.
#pragma once

namespace cpustop {

enum softirq_vec {
  HI_SOFTIRQ = 0,
  TIMER_SOFTIRQ,
  NET_TX_SOFTIRQ,
  NET_RX_SOFTIRQ,
  BLOCK_SOFTIRQ,
  IRQ_POLL_SOFTIRQ,
  TASKLET_SOFTIRQ,
  SCHED_SOFTIRQ,
  HRTIMER_SOFTIRQ,
  RCU_SOFTIRQ,
  NR_SOFTIRQS
};

// Installs the handler of a vector (any time; the handler runs in softirq context: it must not
// sleep). 0, -EINVAL for a bad vector.
int open_softirq(int nr, void (*action)());
// Marks nr pending on the calling CPU. In interrupt context it runs when the interrupt ends;
// otherwise ksoftirqd/N is woken to run it. From outside cpustop: -EPERM. Returns 0.
int raise_softirq(int nr);
// Handled softirqs per vector on cpu (a /proc/softirqs row).
unsigned long softirq_count(unsigned cpu, int nr);

}  // namespace cpustop
