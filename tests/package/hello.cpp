// A program outside the tree: boots two CPUs, runs a function on CPU 1 with stop_one_cpu() and
// prints which CPU it ran on. Built against an installed cpustop by tests/package/check.sh.
#include <cstdio>

#include "cpustop/cpustop.h"

int main() {
  cpustop::boot_params p;
  p.nr_cpus = 2;
  if (int err = cpustop::boot(p)) {
    std::fprintf(stderr, "boot: %d\n", err);
    return 1;
  }
  int ran_on = -1;
  int ret = cpustop::stop_one_cpu(1, [&] {
    ran_on = cpustop::smp_processor_id();
    return 0;
  });
  if (int err = cpustop::shutdown()) std::fprintf(stderr, "shutdown: %d\n", err);
  std::printf("stop_one_cpu: ret=%d cpu=%d\n", ret, ran_on);
  return ret == 0 && ran_on == 1 ? 0 : 1;
}
