// The subcommands of the cpustop program.
#pragma once

#include <string>

#include "cpustop/boot.h"

namespace cpustop::tool {

struct boot_options {
  unsigned cpus = 0;
  std::string preempt = "voluntary";
  std::string idle = "halt";
  unsigned hz = 1000;
  std::string stop_init = "linux";
  std::string topology;
  boot_params params() const;
};

int cmd_boot(const boot_options& opts);
int cmd_demo(const boot_options& opts, const std::string& trace_file);

}  // namespace cpustop::tool
