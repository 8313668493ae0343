// `cpustop shell`: util-linux style commands (taskset, chrt, ps, cat /proc/..., echo to sysfs)
// acting on the booted machine, one line at a time.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "commands.h"

namespace cpustop::tool {

class shell {
 public:
  shell(std::ostream& out, std::ostream& err);
  ~shell();  // stops the tasks it spawned
  // One command line; returns its exit status.
  int run_line(const std::string& line);
  // Commands separated by ';'; returns the last status (as sh -c).
  int run_script(const std::string& script);
  int run(const std::vector<std::string>& argv);
  void kill_all();

 private:
  int taskset(const std::vector<std::string>& a);
  int chrt(const std::vector<std::string>& a);
  int spawn_cmd(const std::vector<std::string>& a);
  int kill_cmd(const std::vector<std::string>& a);
  int cat(const std::vector<std::string>& a);
  int echo(const std::vector<std::string>& a);
  int stop_machine_cmd();

  std::ostream& out_;
  std::ostream& err_;
  std::map<pid_t, std::shared_ptr<std::atomic<bool>>> spinners_;
};

int cmd_shell(const boot_options& opts, const std::string& script);

}  // namespace cpustop::tool
