// `cpustop list` and `cpustop attach`: find the running machines and run shell commands in one.
#include <fmt/core.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "cpustop/attach.h"
#include "cpustop/shell.h"

namespace cpustop::tool {

namespace {

std::string info_field(const std::string& info, const std::string& key) {
  std::istringstream in(info);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + " ", 0) == 0) return line.substr(key.size() + 1);
  return "?";
}

// The wall-clock time a real process started: the host's btime plus its start in clock ticks.
std::string started(unsigned long long start_ticks) {
  std::ifstream in("/proc/stat");
  long long btime = 0;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("btime ", 0) == 0) btime = std::atoll(line.c_str() + 6);
  std::time_t t =
      static_cast<std::time_t>(btime + static_cast<long long>(start_ticks) / sysconf(_SC_CLK_TCK));
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

int run_one(attach_client& c, const std::vector<std::string>& argv, pid_t pid) {
  attach_reply r;
  std::string why;
  if (c.call(argv, &r, &why) != 0) {
    fmt::print(stderr, "cpustop: attach: {}: {}\n", pid, why);
    return 2;
  }
  std::cout << r.out << std::flush;
  if (r.refused)
    std::cerr << "cpustop: attach: " << pid << " refused the request: " << r.err;
  else
    std::cerr << r.err;
  return r.status;
}

}  // namespace

int cmd_list() {
  auto machines = attach_list();
  fmt::print("{:>7} {:<16} {:<19} {:>9} {:>6}  {}\n", "PID", "PROGRAM", "STARTED", "CPUS", "TASKS",
             "VIEW");
  for (const attach_machine& m : machines) {
    attach_client c;
    attach_reply r;
    std::string why, info;
    if (c.connect(m.pid, &why) == 0 && c.call({"info"}, &r, &why) == 0 && !r.refused) info = r.out;
    std::string cpus =
        info.empty() ? "?"
                     : info_field(info, "cpus_online") + "/" + info_field(info, "cpus_possible");
    std::string view = info.empty() ? "(not answering: " + why + ")" : info_field(info, "view");
    fmt::print("{:>7} {:<16} {:<19} {:>9} {:>6}  {}\n", m.pid, m.program, started(m.start_time),
               cpus, info.empty() ? "?" : info_field(info, "tasks"), view);
  }
  return 0;
}

int cmd_attach(pid_t pid, const std::vector<std::string>& cmd) {
  attach_client c;
  std::string why;
  if (c.connect(pid, &why) != 0) {
    fmt::print(stderr, "cpustop: attach: {}\n", why);
    return 1;
  }
  if (!cmd.empty()) {
    std::string line;
    for (const std::string& w : cmd) line += (line.empty() ? "" : " ") + w;
    int status = 0;
    for (const auto& argv : shell_split(line)) status = run_one(c, argv, pid);
    return status;
  }
  bool tty = isatty(STDIN_FILENO);
  std::string prompt = fmt::format("cpustop:{}# ", pid);
  int status = 0;
  if (tty) std::cout << prompt << std::flush;
  for (std::string line; std::getline(std::cin, line);) {
    if (line == "exit" || line == "quit") break;
    for (const auto& argv : shell_split(line)) status = run_one(c, argv, pid);
    if (tty) std::cout << prompt << std::flush;
  }
  return status;
}

}  // namespace cpustop::tool
