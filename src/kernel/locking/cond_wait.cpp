// The oversubscription policy of every wait (kernel/locking/cond_wait.h).
#include "kernel/locking/cond_wait.h"

namespace cpustop {

cond_wait_policy cond_policy;

void cond_wait_init(unsigned nr_cpus, unsigned nr_hw_cpus) {
  bool oversubscribed = nr_cpus > nr_hw_cpus;
  // A pause costs 40-300 ns (the guest may trap it): 1000 cover a remote CPU's critical section
  // or a rendezvous of CPUs that all run; 64 let a descheduled holder get our core soon.
  cond_policy.spins = oversubscribed ? 64 : 1000;
  cond_policy.idle_poll_ns = oversubscribed ? 0 : 20000;
}

}  // namespace cpustop
