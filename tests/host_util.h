// For tests that drive the machine from outside: running real programs (the cpustop tool, ps,
// taskset, setpriv...) and capturing what they print, and naming what a test needs and lacks.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace cpustop::test {

struct cmd_result {
  int status = -1;  // exit status, or 128 + signal
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs argv (searched in PATH) with stdin from /dev/null, and waits for it.
inline cmd_result run_cmd(const std::vector<std::string>& argv) {
  char dir[] = "/tmp/cpustop-test-XXXXXX";
  cmd_result r;
  if (!mkdtemp(dir)) return r;
  std::string out = std::string(dir) + "/out", err = std::string(dir) + "/err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ) == 0) {
    int st = 0;
    waitpid(pid, &st, 0);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  posix_spawn_file_actions_destroy(&fa);
  r.out = slurp(out);
  r.err = slurp(err);
  unlink(out.c_str());
  unlink(err.c_str());
  rmdir(dir);
  return r;
}

inline bool have_program(const std::string& name) {
  return run_cmd({"sh", "-c", "command -v " + name + " >/dev/null"}).status == 0;
}

// What a test of the real tools needs that this machine lacks ("" when nothing).
inline std::string missing_for_enter(const std::vector<std::string>& programs = {}) {
  if (geteuid() != 0) return "root (a mount namespace and bind mounts)";
  if (access("/dev/fuse", R_OK | W_OK) != 0) return "/dev/fuse";
  for (const std::string& p : programs)
    if (!have_program(p)) return p + " (in PATH)";
  return "";
}

#ifdef CPUSTOP_TOOL
inline std::string tool() {
  return CPUSTOP_TOOL;
}
#endif

}  // namespace cpustop::test
