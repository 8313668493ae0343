// `cpustop sim` in the native build: the simulator is a build of its own.
#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include "commands.h"

namespace cpustop::tool {

subcommand add_sim_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("sim", "run a scenario on the deterministic simulator");
  sub->allow_extras();
  return {sub, [] {
            fmt::print(stderr,
                       "cpustop: sim: this is the native build; the simulator is "
                       "build/sim/bin/cpustop (cmake --preset sim && cmake --build --preset "
                       "sim)\n");
            return 1;
          }};
}

}  // namespace cpustop::tool
