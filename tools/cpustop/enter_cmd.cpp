// `cpustop enter PID [-- CMD...]`: CMD (default $SHELL) in a private mount namespace where /proc
// and /sys/devices/system/cpu are the machine's FUSE views, and where the scheduler system calls
// of the real tools on the machine's pids reach the machine (sched_trap.h).
#include <fmt/core.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "commands.h"
#include "cpustop/attach.h"
#include "sched_trap.h"

namespace cpustop::tool {

namespace {

constexpr long FUSE_SUPER_MAGIC = 0x65735546;

// One byte with room for one descriptor beside it (SCM_RIGHTS), for sendmsg and recvmsg.
struct fd_message {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  fd_message() {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof(ctrl);
  }
  fd_message(const fd_message&) = delete;  // msg points into this object
};

bool send_fd(int sock, int fd) {
  fd_message m;
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &m.msg, 0) == 1;
}

int recv_fd(int sock) {
  fd_message m;
  if (recvmsg(sock, &m.msg, 0) != 1) return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

// The child: its own mounts, the views bound over the real ones, the trap, then CMD.
[[noreturn]] void child_main(const std::string& view, int sock,
                             const std::vector<std::string>& cmd) {
  auto die = [](const std::string& what) {
    fmt::print(stderr, "cpustop: enter: {}: {}\n", what, std::strerror(errno));
    _exit(126);
  };
  if (unshare(CLONE_NEWNS) != 0) die("unshare(CLONE_NEWNS)");
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die("making / private");
  if (mount((view + "/proc").c_str(), "/proc", nullptr, MS_BIND, nullptr) != 0)
    die("binding /proc");
  if (mount((view + "/sys/devices/system/cpu").c_str(), "/sys/devices/system/cpu", nullptr, MS_BIND,
            nullptr) != 0)
    die("binding /sys/devices/system/cpu");
  int fd = sched_trap_install();
  if (fd < 0) {
    errno = -fd;
    die("seccomp filter");
  }
  if (!send_fd(sock, fd)) die("handing over the seccomp listener");
  close(fd);
  close(sock);
  std::vector<char*> argv;
  for (const std::string& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  fmt::print(stderr, "cpustop: enter: {}: {}\n", cmd[0], std::strerror(errno));
  _exit(127);
}

}  // namespace

int cmd_enter(pid_t pid, std::vector<std::string> cmd) {
  if (geteuid() != 0) {
    fmt::print(stderr,
               "cpustop: enter: needs root (CAP_SYS_ADMIN, for a private mount namespace and its "
               "bind mounts); `cpustop attach {}` works without\n",
               pid);
    return 1;
  }
  attach_client machine;
  attach_reply info;
  std::string why;
  if (machine.connect(pid, &why) != 0 || machine.call({"info"}, &info, &why) != 0 || info.refused) {
    fmt::print(stderr, "cpustop: enter: {}\n", why.empty() ? info.err : why);
    return 1;
  }
  std::string view;
  std::istringstream in(info.out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("view ", 0) == 0) view = line.substr(5);
  struct statfs fs;
  if (view.rfind("none", 0) == 0 || view.empty() || statfs((view + "/proc").c_str(), &fs) != 0 ||
      fs.f_type != FUSE_SUPER_MAGIC) {
    fmt::print(
        stderr,
        "cpustop: enter: machine {} has no FUSE view ({}); `cpustop attach {}` works without\n",
        pid, view.empty() ? "unknown" : view, pid);
    return 1;
  }
  if (cmd.empty()) {
    const char* sh = std::getenv("SHELL");
    cmd = {sh && *sh ? sh : "/bin/sh"};
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    fmt::print(stderr, "cpustop: enter: socketpair: {}\n", std::strerror(errno));
    return 1;
  }
  std::fflush(nullptr);
  pid_t child = fork();
  if (child < 0) {
    fmt::print(stderr, "cpustop: enter: fork: {}\n", std::strerror(errno));
    return 1;
  }
  if (child == 0) {
    close(sv[0]);
    setenv("CPUSTOP_MACHINE", std::to_string(pid).c_str(), 1);
    child_main(view, sv[1], cmd);
  }
  close(sv[1]);
  // The terminal's signals are the session's; we only wait for it.
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  int notify_fd = recv_fd(sv[0]);
  close(sv[0]);
  int status = 0;
  if (notify_fd < 0) {
    waitpid(child, &status, 0);
  } else {
    status = sched_trap_supervise(notify_fd, child, &machine);
    close(notify_fd);
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace cpustop::tool
