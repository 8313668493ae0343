#include <fmt/core.h>

#include <iostream>

#include "commands.h"
#include "trace_cmd.h"

namespace cpustop::tool {

boot_params boot_options::params() const {
  boot_params p;
  p.nr_cpus = cpus;
  p.preempt = preempt == "none"   ? preempt_model::none
              : preempt == "full" ? preempt_model::full
                                  : preempt_model::voluntary;
  p.idle = idle == "poll" ? idle_mode::poll : idle_mode::halt;
  p.hz = hz;
  p.stop_init = stop_init == "lego" ? stop_init_order::lego_order : stop_init_order::linux_order;
  p.topology = topology;
  return p;
}

int cmd_boot(const boot_options& opts) {
  trace_file_start(opts.trace_files);
  int err = boot(opts.params());
  if (err) {
    fmt::print(stderr, "cpustop: boot failed: {}\n", err);
    return 1;
  }
  int s = shutdown();
  fmt::print("{}", dmesg());
  return trace_file_write(opts.trace_files, std::cerr) | (s ? 1 : 0);
}

}  // namespace cpustop::tool
