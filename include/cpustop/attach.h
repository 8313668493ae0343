// Reaching a running machine from outside its process: what `cpustop list`, `cpustop attach`
// and `cpustop enter` use, and any program may. Every booted machine (boot_params::attach, on by
// default) has a runtime directory, /run/cpustop/<pid>/ for root or $XDG_RUNTIME_DIR/cpustop/<pid>/
// (else /tmp/cpustop-<uid>/<pid>/), mode 0700, with its control socket and, where FUSE works, its
// /proc and /sys views. Only the machine's user and root get in. These calls use the OS, never the
// machine's kernel: any thread, any process.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace cpustop {

// A command's outcome in the machine, as if it had run here: exit status, stdout, stderr.
// refused: the machine did not run it (a bad request, another user, too many clients); err says
// why and status is 2.
struct attach_reply {
  bool refused = false;
  int status = 0;
  std::string out, err;
};

class attach_client {
 public:
  attach_client();
  ~attach_client();
  attach_client(const attach_client&) = delete;
  attach_client& operator=(const attach_client&) = delete;

  // Connects to the machine in process pid. 0, or -errno with *why in words (-ESRCH: no such
  // machine).
  int connect(pid_t pid, std::string* why);
  // Runs one shell command (argv as the machine's shell takes it: {"taskset", "-cp", "42"}), or
  // "info" (the machine's facts as "key value" lines: pid, program, cpus_online, cpus_possible,
  // tasks, view). May block while the command runs. Relative file names (trace record -o FILE,
  // trace report FILE) are the caller's: its working directory goes with the request. 0, or
  // -errno with *why (the connection lost).
  int call(const std::vector<std::string>& argv, attach_reply* out, std::string* why);
  // The machine's runtime directory (after connect).
  const std::string& dir() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

struct attach_machine {
  pid_t pid = 0;
  unsigned long long start_time = 0;  // field 22 of /proc/<pid>/stat
  std::string program;
  std::string dir;
};
// The running machines of the calling user, in pid order. Entries left by crashed processes (the
// pid gone, or reused by a process that started at another time) are removed on the way.
std::vector<attach_machine> attach_list();

// The comm of a real process ("" if gone).
std::string process_comm(pid_t pid);

}  // namespace cpustop
