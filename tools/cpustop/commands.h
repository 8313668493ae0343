// The subcommands of the cpustop program.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cpustop/boot.h"

namespace CLI {
class App;
}

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

// A subcommand that registers its own options; run() after parsing, if it was given.
struct subcommand {
  CLI::App* app;
  std::function<int()> run;
};
// `cpustop sim` (sim/sim_cmd.cpp in the sim build; a pointer to it in the native one).
subcommand add_sim_command(CLI::App& app);

}  // namespace cpustop::tool
