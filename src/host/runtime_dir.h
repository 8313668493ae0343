// Where a running machine can be found: its runtime directory, /run/cpustop/<pid>/ for root or
// $XDG_RUNTIME_DIR/cpustop/<pid>/ (else /tmp/cpustop-<uid>/<pid>/), mode 0700, holding
//   ctl    the control socket (0600)
//   info   "pid N", "start_time T" (field 22 of /proc/<pid>/stat) and "program NAME" lines
//   view/  where the FUSE export of /proc and /sys/devices/system/cpu is mounted, if FUSE works
// An entry whose process is gone, or whose pid now belongs to a process started at another time,
// was left by a crash: scans remove it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace cpustop::host {

// The directory that holds the machines of user uid.
std::string runtime_base(uid_t uid);
// Field 22 of /proc/<pid>/stat (clock ticks after the host booted); 0 if there is no such process
// or it has exited (a zombie).
unsigned long long process_start_time(pid_t pid);
// The comm of a real process ("" if gone).
std::string process_comm(pid_t pid);

// Creates this process's directory with its info file, first removing what a dead process with
// the same pid left. 0 or -errno; *dir gets the path.
int runtime_dir_create(std::string* dir);
// Unmounts the view if it is mounted and removes the directory and its files.
void runtime_dir_remove(const std::string& dir);

struct machine_entry {
  pid_t pid = 0;
  unsigned long long start_time = 0;
  std::string program;
  std::string dir;
};
// The live machines of user uid, in pid order; stale entries are removed on the way.
std::vector<machine_entry> runtime_dir_scan(uid_t uid);
// The directory of machine pid: the caller's base first, then the base of the user who owns pid
// (root may attach to anyone's machine; others are refused there). Empty if none.
std::string runtime_dir_find(pid_t pid);

}  // namespace cpustop::host
