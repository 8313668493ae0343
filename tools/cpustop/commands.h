// The subcommands of the cpustop program.
#pragma once

#include <string>
#include <vector>

#include "cpustop/boot.h"

namespace cpustop::tool {

struct boot_options {
  unsigned cpus = 0;
  std::string preempt = "voluntary";
  std::string idle = "halt";
  unsigned hz = 1000;
  std::string stop_init = "linux";
  std::string topology;
  std::vector<std::string>
      trace_files;  // --trace FILE: every event, in the format its extension names
  boot_params params() const;
};

int cmd_boot(const boot_options& opts);
int cmd_demo(const boot_options& opts);

}  // namespace cpustop::tool
