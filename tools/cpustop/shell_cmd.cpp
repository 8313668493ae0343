// `cpustop shell`: boots a machine and runs the machine's shell on it, from -c or stdin.
#include <fmt/core.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include "commands.h"
#include "cpustop/shell.h"

namespace cpustop::tool {

int cmd_shell(const boot_options& opts, const std::string& script) {
  trace_file_start(opts.trace_files);
  if (int err = boot(opts.params())) {
    fmt::print(stderr, "cpustop: boot failed: {}\n", std::strerror(-err));
    return 1;
  }
  int status = 0;
  {
    shell sh(std::cout, std::cerr);
    if (!script.empty()) {
      status = sh.run_line(script);
    } else {
      std::string line;
      if (isatty(STDIN_FILENO)) std::cout << "cpustop# " << std::flush;
      while (std::getline(std::cin, line)) {
        if (line == "exit" || line == "quit") break;
        status = sh.run_line(line);
        if (isatty(STDIN_FILENO)) std::cout << "cpustop# " << std::flush;
      }
    }
  }
  if (int err = shutdown()) {
    fmt::print(stderr, "cpustop: shutdown failed: {}\n", std::strerror(-err));
    return 1;
  }
  return trace_file_write(opts.trace_files, std::cerr) | status;
}

}  // namespace cpustop::tool
