// The machine's shell: util-linux style commands (ps, top, taskset, chrt, renice, spawn, kill,
// cat, echo, ls, stop_machine, trace, livepatch, dmesg, sleep) that act on the booted machine.
// `cpustop shell` reads them from a terminal; `cpustop attach` sends them over the control
// socket to a running program, where the same class runs them. Each returns an exit status and
// prints as its namesake does; errors go to the error stream as "tool: message" and change
// nothing. A command that acts on the machine runs as a task named after it (taskset, chrt,
// echo, ...), so that the trace shows `taskset-42 [001]` as the kernel's would.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cpustop/cpumask.h"
#include "cpustop/wait.h"

namespace cpustop {

// What the shells of one machine share: the tasks `spawn` started (so that one client may kill
// what another spawned), and whether the machine is closing (sleep returns early).
class shell_context {
 public:
  shell_context();
  ~shell_context();  // stops the spawned tasks
  void add(pid_t pid, std::shared_ptr<std::atomic<bool>> stop);
  // Stops a spawned task and waits for it. false if pid is not one of them.
  bool stop(pid_t pid);
  bool spawned(pid_t pid) const;
  // Stops every spawned task (all flagged first: a spinning rt task keeps the fair ones behind it
  // from seeing theirs) and makes sleeps return. With for_good, later sleeps return at once (a
  // machine shutting down, whose clients may still send one).
  void close(bool for_good = false);
  // Sleeps ms or until close(). false if closed. May sleep: a task.
  bool sleep_ms(long ms);

 private:
  mutable std::mutex lock_;
  wait_queue_head closing_;
  std::atomic<unsigned long> closes_{0};  // close() calls: a sleep ends when it changes
  std::atomic<bool> closed_for_good_{false};
  std::map<pid_t, std::shared_ptr<std::atomic<bool>>> tasks_;
};

class shell {
 public:
  // With ctx null the shell has a context of its own, closed when the shell is destroyed.
  shell(std::ostream& out, std::ostream& err, shell_context* ctx = nullptr);
  ~shell();
  // A command line: commands separated by ';' (see shell_split); returns the last one's status,
  // as sh -c does.
  int run_line(const std::string& line);
  int run(const std::vector<std::string>& argv);
  void kill_all();
  // The CPUs the commands' tasks may run on, as a shell's affinity is its children's (the shell
  // under `taskset -c 1 bash`). Default: all.
  void set_affinity(const cpumask& cpus) { cpus_ = cpus; }
  // A shell run for a client in another process (attach): the directory its relative file names
  // are in (trace record -o FILE, trace report FILE); "" when it did not say, and then such names
  // are refused. Without it, names are this process's.
  void set_client_dir(std::string dir) { client_dir_ = std::move(dir); }

 private:
  int taskset(const std::vector<std::string>& a);
  int chrt(const std::vector<std::string>& a);
  int renice(const std::vector<std::string>& a);
  int spawn_cmd(const std::vector<std::string>& a);
  int kill_cmd(const std::vector<std::string>& a);
  int cat(const std::vector<std::string>& a);
  int echo(const std::vector<std::string>& a);
  int ls(const std::vector<std::string>& a);
  int top(const std::vector<std::string>& a);
  int livepatch(const std::vector<std::string>& a);
  int stop_machine_cmd();
  // Runs fn as a task named comm; its output reaches out_/err_ after it exits.
  int in_task(const std::string& comm, const std::function<int()>& fn);

  std::ostream* out_;
  std::ostream* err_;
  std::unique_ptr<shell_context> own_ctx_;
  shell_context* ctx_;
  std::optional<cpumask> cpus_;
  std::optional<std::string> client_dir_;
};

// --trace FILE...: before boot, record every event; at the end, write them to each FILE in the
// format its extension names (.dat trace.dat, .json Chrome/Perfetto JSON, else ftrace text).
// Both do nothing without files. trace_file_write returns 0, or 1 after a message.
void trace_file_start(const std::vector<std::string>& paths);
int trace_file_write(const std::vector<std::string>& paths, std::ostream& err);

// A command line as the shell reads it: commands separated by ';', each split into words at
// white space; empty ones and comments (a first word starting with '#') left out.
std::vector<std::vector<std::string>> shell_split(const std::string& line);

// Runs fn as a task named comm (truncated to 15 characters), on cpus if given, and waits for it;
// *status gets fn's result. From a thread outside the machine or from a task. 0, or spawn()'s
// error.
int run_as_task(const std::string& comm, const std::function<int()>& fn, int* status,
                const std::optional<cpumask>& cpus = std::nullopt);

}  // namespace cpustop
