// /proc/loadavg (fs/proc/loadavg.c): the 1, 5 and 15 minute load averages, runnable and total
// tasks, and the last pid handed out.
#include <fmt/format.h>

#include "kernel/pid.h"
#include "kernel/sched/stat.h"
#include "proc/internal.h"

namespace cpustop::proc {

std::string loadavg_show() {
  unsigned long avnrun[3];
  get_avenrun(avnrun, FIXED_1 / 200, 0);
  return fmt::format("{}.{:02} {}.{:02} {}.{:02} {}/{} {}\n", LOAD_INT(avnrun[0]),
                     LOAD_FRAC(avnrun[0]), LOAD_INT(avnrun[1]), LOAD_FRAC(avnrun[1]),
                     LOAD_INT(avnrun[2]), LOAD_FRAC(avnrun[2]), nr_running(), nr_processes(),
                     last_pid_nr());
}

}  // namespace cpustop::proc
