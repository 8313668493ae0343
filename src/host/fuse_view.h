// The FUSE export of the machine's views: a file system with proc/ (the machine's /proc) and
// sys/devices/system/cpu/ (its CPUs), mounted in the runtime directory, for `cpustop enter` to bind
// over /proc and /sys/devices/system/cpu in a private mount namespace. Every file is generated at
// open by the proc views (direct I/O, size 0, as procfs), and cpuN/online takes writes with the
// kernel's semantics, made by a task named after the writing command.
//
// Beside the machine's tasks, /proc shows what tools need of the real system: /proc/self and
// /proc/thread-self are links to the caller's own real process, whose directory passes through
// to the real procfs (read-only), as do the names that are not the machine's (meminfo, cpuinfo,
// sys/...). Other real pids are hidden. A pid of the machine wins over a real pid.
//
// Only the machine's user and root get in (EACCES for anyone else, and without user_allow_other
// in /etc/fuse.conf the kernel already refuses other users); default_permissions keeps cpuN/online
// writable by its owner only.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

namespace cpustop::host {

class fuse_view {
 public:
  fuse_view();
  ~fuse_view();
  fuse_view(const fuse_view&) = delete;
  fuse_view& operator=(const fuse_view&) = delete;

  // Creates mountpoint, mounts and starts serving from worker threads. 0, or -errno with *why
  // saying what is missing ("/dev/fuse: No such file or directory", ...).
  int start(const std::string& mountpoint, std::string* why);
  // Unmounts and stops the workers (also when another mount namespace still holds the view: its
  // requests then fail). Idempotent.
  void stop();
  bool mounted() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace cpustop::host
