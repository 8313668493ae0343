// The runtime directory of a machine (see runtime_dir.h).
#include "host/runtime_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "host/shell_util.h"

namespace cpustop::host {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Makes dir (one level) owned by us with mode 0700, or accepts an existing one of ours, taking
// away the permission bits in `never` (without them nobody else can reach into it).
int ensure_own_dir(const std::string& dir, mode_t never) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return -errno;
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) return -errno;
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) return -EPERM;
  if ((st.st_mode & never) != 0 && chmod(dir.c_str(), st.st_mode & 07777 & ~never) != 0)
    return -errno;
  return 0;
}

int ensure_private_dir(const std::string& dir) {
  return ensure_own_dir(dir, 077);
}

// The base ($XDG_RUNTIME_DIR/cpustop, /run/cpustop, or /tmp/cpustop-<uid>) is created 0700 but
// need not stay so: each machine's directory is private. Nobody else may write to it (rename or
// remove a machine's directory); one its owner opened for reading is left so (a test lets another
// user reach a socket that way while other machines boot).
int ensure_base(const std::string& base) {
  return ensure_own_dir(base, 022);
}

std::string info_value(const std::string& info, const std::string& key) {
  std::istringstream in(info);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + " ", 0) == 0) return line.substr(key.size() + 1);
  return {};
}

// The view of a dead process is a FUSE mount with no server: take it away lazily.
void unmount_view(const std::string& view) {
  if (umount2(view.c_str(), MNT_DETACH) == 0 || errno == EINVAL || errno == ENOENT) return;
  // An unprivileged user's mount: through the setuid helper (posix_spawn: we may be threaded).
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const char* argv[] = {"fusermount3", "-u", "-z", view.c_str(), nullptr};
  pid_t pid;
  if (posix_spawnp(&pid, "fusermount3", &fa, nullptr, const_cast<char* const*>(argv), environ) == 0)
    waitpid(pid, nullptr, 0);
  posix_spawn_file_actions_destroy(&fa);
}

enum class entry_state { alive, stale, starting };

// A directory without its info yet belongs to a machine still booting (info is renamed into
// place once written) unless its pid is gone.
entry_state entry_check(const std::string& dir, pid_t pid, machine_entry* e) {
  std::string info = read_file(dir + "/info");
  e->pid = pid;
  e->dir = dir;
  e->program = info_value(info, "program");
  e->start_time = std::strtoull(info_value(info, "start_time").c_str(), nullptr, 10);
  unsigned long long now = process_start_time(pid);
  if (e->start_time != 0) return now == e->start_time ? entry_state::alive : entry_state::stale;
  return now != 0 ? entry_state::starting : entry_state::stale;
}

}  // namespace

std::string runtime_base(uid_t uid) {
  if (uid == 0) return "/run/cpustop";
  if (uid == geteuid()) {
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg) return std::string(xdg) + "/cpustop";
  } else {
    std::string run_user = "/run/user/" + std::to_string(uid);
    if (access(run_user.c_str(), F_OK) == 0) return run_user + "/cpustop";
  }
  return "/tmp/cpustop-" + std::to_string(uid);
}

unsigned long long process_start_time(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string f;
  for (int field = 3; field <= 22 && in >> f; field++) {
    if (field == 3 && (f == "Z" || f == "X")) return 0;  // exited: its machine is gone
    if (field == 22) return std::strtoull(f.c_str(), nullptr, 10);
  }
  return 0;
}

std::string process_comm(pid_t pid) {
  std::string comm = read_file("/proc/" + std::to_string(pid) + "/comm");
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

int runtime_dir_create(std::string* dir) {
  std::string base = runtime_base(geteuid());
  if (int err = ensure_base(base)) return err;
  pid_t self = getpid();
  std::string d = base + "/" + std::to_string(self);
  struct stat st;
  if (lstat(d.c_str(), &st) == 0) runtime_dir_remove(d);  // left by a dead process with our pid
  if (int err = ensure_private_dir(d)) return err;
  std::string program = process_comm(self);
  std::ostringstream info;
  info << "pid " << self << "\nstart_time " << process_start_time(self) << "\nprogram " << program
       << "\n";
  std::string tmp = d + "/info.tmp";
  {
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return -errno;
    std::string text = info.str();
    bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    close(fd);
    if (!ok || rename(tmp.c_str(), (d + "/info").c_str()) != 0) return -EIO;
  }
  *dir = d;
  return 0;
}

void runtime_dir_remove(const std::string& dir) {
  std::string view = dir + "/view";
  unmount_view(view);
  for (const char* f : {"ctl", "info", "info.tmp"}) unlink((dir + "/" + f).c_str());
  rmdir(view.c_str());
  rmdir(dir.c_str());
}

std::vector<machine_entry> runtime_dir_scan(uid_t uid) {
  std::vector<machine_entry> out;
  std::string base = runtime_base(uid);
  DIR* d = opendir(base.c_str());
  if (!d) return out;
  std::vector<pid_t> pids;
  while (dirent* de = readdir(d)) {
    pid_t pid;
    if (parse_pid(de->d_name, &pid)) pids.push_back(pid);
  }
  closedir(d);
  std::sort(pids.begin(), pids.end());
  for (pid_t pid : pids) {
    machine_entry e;
    std::string dir = base + "/" + std::to_string(pid);
    entry_state state = entry_check(dir, pid, &e);
    if (state == entry_state::alive)
      out.push_back(e);
    else if (state == entry_state::stale && (uid == geteuid() || geteuid() == 0))
      runtime_dir_remove(dir);
  }
  return out;
}

std::string runtime_dir_find(pid_t pid) {
  std::vector<uid_t> uids = {geteuid()};
  struct stat st;
  if (stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0 && st.st_uid != geteuid())
    uids.push_back(st.st_uid);
  for (uid_t uid : uids) {
    std::string dir = runtime_base(uid) + "/" + std::to_string(pid);
    machine_entry e;
    // Another user's directory may be closed to us: then its socket will say no.
    if (entry_check(dir, pid, &e) == entry_state::alive ||
        (uid != geteuid() && access(dir.c_str(), F_OK) == 0))
      return dir;
  }
  return {};
}

}  // namespace cpustop::host
