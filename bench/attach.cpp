// `cpustop bench attach`: the machine seen from outside.
//
//   attach_ps          `cpustop attach PID ps` run as a command (exec, connect, the request, the
//                      reply printed) against the real `ps -p PID` of one process on the host.
//   attach_ps_request  the same request on an open connection (what an attached shell pays).
//   fuse_proc_stat     open + read + close of /proc/<pid>/stat through the machine's FUSE view,
//                      against a minimal libfuse file system of our own that serves one constant
//                      file (the floor of any FUSE view: every call a round trip through
//                      /dev/fuse), and against the real procfs /proc/self/stat.
//
// The FUSE figures need root and /dev/fuse (as the view does); without them they say why.
#define FUSE_USE_VERSION 312
#include <fcntl.h>
#include <fmt/core.h>
#include <fuse_lowlevel.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "bench.h"
#include "bench_util.h"

extern char** environ;

namespace cpustop::bench {

namespace {

constexpr int EXEC_BATCH = 20;
constexpr int REQUEST_BATCH = 200;
constexpr int OPEN_BATCH = 2000;

// Runs argv with its output thrown away; false if it could not run or failed.
bool run_quiet(const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int st = -1;
  if (posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ) == 0) waitpid(pid, &st, 0);
  posix_spawn_file_actions_destroy(&fa);
  return st == 0;
}

double exec_ns(const std::vector<std::string>& argv) {
  auto t0 = bench_clock::now();
  for (int i = 0; i < EXEC_BATCH; i++)
    if (!run_quiet(argv)) return -1;
  return ns_between(t0, bench_clock::now()) / EXEC_BATCH;
}

double open_read_close_ns(const std::string& path) {
  char buf[4096];
  auto t0 = bench_clock::now();
  for (int i = 0; i < OPEN_BATCH; i++) {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0) {
      if (fd >= 0) close(fd);
      return -1;
    }
    close(fd);
  }
  return ns_between(t0, bench_clock::now()) / OPEN_BATCH;
}

// ---- The floor: one constant file over libfuse's low-level API, nothing else ----------------

constexpr fuse_ino_t FILE_INO = 2;
const std::string floor_text(160, 'x');  // about a /proc/<pid>/stat line

void floor_stat(fuse_ino_t ino, struct stat* st) {
  *st = {};
  st->st_ino = ino;
  st->st_mode = ino == FUSE_ROOT_ID ? S_IFDIR | 0555 : S_IFREG | 0444;
  st->st_nlink = ino == FUSE_ROOT_ID ? 2 : 1;
}

void floor_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (parent != FUSE_ROOT_ID || std::strcmp(name, "stat") != 0)
    return (void)fuse_reply_err(req, ENOENT);
  fuse_entry_param e{};
  e.ino = FILE_INO;
  floor_stat(FILE_INO, &e.attr);  // timeouts 0: looked up at every open, as a live view must be
  fuse_reply_entry(req, &e);
}

void floor_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  struct stat st;
  floor_stat(ino, &st);
  fuse_reply_attr(req, &st, 0);
}

void floor_open(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  fi->direct_io = 1;
  fuse_reply_open(req, fi);
}

void floor_read(fuse_req_t req, fuse_ino_t, std::size_t size, off_t off, fuse_file_info*) {
  std::size_t o = static_cast<std::size_t>(off);
  if (o >= floor_text.size()) return (void)fuse_reply_buf(req, nullptr, 0);
  fuse_reply_buf(req, floor_text.data() + o, std::min(size, floor_text.size() - o));
}

class floor_fs {
 public:
  bool mount(std::string* why) {
    char dir[] = "/tmp/cpustop-fuse-floor-XXXXXX";
    if (!mkdtemp(dir)) return *why = std::strerror(errno), false;
    dir_ = dir;
    fuse_lowlevel_ops ops{};
    ops.lookup = floor_lookup;
    ops.getattr = floor_getattr;
    ops.open = floor_open;
    ops.read = floor_read;
    const char* argv[] = {"floor", "-o", "fsname=floor", nullptr};
    fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
    se_ = fuse_session_new(&args, &ops, sizeof(ops), nullptr);
    fuse_opt_free_args(&args);
    if (!se_ || fuse_session_mount(se_, dir_.c_str()) != 0) return *why = "mount failed", false;
    loop_ = std::thread([this] { fuse_session_loop(se_); });
    return true;
  }
  std::string file() const { return dir_ + "/stat"; }
  ~floor_fs() {
    if (se_) {
      if (loop_.joinable()) {
        fuse_session_exit(se_);
        fuse_session_unmount(se_);
        loop_.join();
      }
      fuse_session_destroy(se_);
    }
    if (!dir_.empty()) rmdir(dir_.c_str());
  }

 private:
  std::string dir_;
  fuse_session* se_ = nullptr;
  std::thread loop_;
};

int run() {
  boot_params p;
  p.nr_cpus = 2;
  p.attach = true;
  machine m(p);
  if (!m.ok()) return 1;
  std::string self = std::to_string(::getpid());
  attach_client c;
  std::string why;
  if (c.connect(::getpid(), &why) != 0) {
    fmt::print("attach: the machine cannot be reached: {} (CPUSTOP_ATTACH=0?)\n", why);
    return 1;
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return 1;
  std::string tool(exe, static_cast<std::size_t>(n));

  section("attach PID ps: one command from outside, as a user runs it, against ps -p PID");
  auto ps_p = [&] { return exec_ns({"ps", "-p", self}); };
  compare("attach_ps", [&] { return exec_ns({tool, "attach", self, "ps"}); }, {{"ps_p", ps_p}});
  compare("attach_ps_request",
          [&] {
            attach_reply r;
            auto t0 = bench_clock::now();
            for (int i = 0; i < REQUEST_BATCH; i++)
              if (c.call({"ps"}, &r, &why) != 0 || r.status != 0) return -1.0;
            return ns_between(t0, bench_clock::now()) / REQUEST_BATCH;
          },
          {{"ps_p", ps_p}});

  section("open+read+close of /proc/<pid>/stat: the FUSE view, a one-file FUSE floor, procfs");
  if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
    fmt::print("attach: the FUSE figures need root and /dev/fuse\n");
    return 0;
  }
  attach_reply info;
  c.call({"info"}, &info, &why);
  if (info.out.find("view none") != std::string::npos) {
    fmt::print("attach: the machine has no view: {}", info.out);
    return 1;
  }
  floor_fs floor;
  if (!floor.mount(&why)) {
    fmt::print("attach: the floor file system: {}\n", why);
    return 1;
  }
  std::string view = c.dir() + "/view/proc/2/stat";  // kthreadd: there for the whole boot
  compare("fuse_proc_stat", [&] { return open_read_close_ns(view); },
          {{"fuse_floor", [&] { return open_read_close_ns(floor.file()); }},
           {"procfs", [] { return open_read_close_ns("/proc/self/stat"); }}});
  return 0;
}

registrar reg("attach",
              "attach PID ps vs ps -p; /proc/<pid>/stat through the FUSE view vs a one-file FUSE "
              "floor and procfs",
              run);

}  // namespace

}  // namespace cpustop::bench
