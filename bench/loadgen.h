// Servers as processes of their own and the real wrk against them: what `cpustop bench http`
// and the server tests share. Header-only, outside the kernel layers (it calls the OS).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace cpustop::loadgen {

// The directory of the running program (where cpustop-httpd sits beside cpustop and the tests).
inline std::string exe_dir() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string path = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : "";
  return path.substr(0, path.rfind('/'));
}

// A server started as a child process. It must print a first line ending in its port, as
// "... listening on 127.0.0.1:PORT ..." or "listening on PORT".
class server_process {
 public:
  server_process(std::vector<std::string> argv, std::vector<std::string> env = {}) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    std::vector<char*> args, envp;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    for (char** e = environ; *e; e++) envp.push_back(*e);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    out_ = out[0];
    std::string line;
    char c;
    while (pid_ > 0 && ::read(out_, &c, 1) == 1 && c != '\n') line += c;
    std::size_t at = line.find("listening on ");
    if (at != std::string::npos) {
      std::string rest = line.substr(at + 13);
      std::size_t colon = rest.find(':');
      std::size_t end = rest.find(' ');
      std::string num = colon != std::string::npos && colon < end ? rest.substr(colon + 1) : rest;
      port_ = std::atoi(num.c_str());
    }
  }
  ~server_process() {
    if (pid_ > 0) stop();
    if (out_ >= 0) ::close(out_);
  }
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  bool ok() const { return pid_ > 0 && port_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // SIGTERM, then the exit status (128 + signal when killed by one); what it printed after its
  // first line goes to *output.
  int stop(std::string* output = nullptr) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    std::string rest;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(out_, buf, sizeof(buf))) > 0) rest.append(buf, static_cast<std::size_t>(n));
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (output) *output = rest;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  int open_fds() const {
    int n = 0;
    DIR* d = opendir(("/proc/" + std::to_string(pid_) + "/fd").c_str());
    while (dirent* e = d ? readdir(d) : nullptr)
      if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
};

// What one wrk run reported.
struct wrk_result {
  double requests_per_s = -1;
  double p50_ns = -1, p99_ns = -1;
  long requests = 0;
  long socket_errors = 0;  // connect + read + write + timeout
  long non_2xx = 0;        // "Non-2xx or 3xx responses"
  std::string text;
  bool ok() const { return requests_per_s > 0; }
};

inline double wrk_time_ns(const std::string& v) {
  double x = std::atof(v.c_str());
  if (v.find("us") != std::string::npos) return x * 1e3;
  if (v.find("ms") != std::string::npos) return x * 1e6;
  if (v.find('s') != std::string::npos) return x * 1e9;
  return x;
}

inline wrk_result parse_wrk(const std::string& text) {
  wrk_result r;
  r.text = text;
  auto after = [&](const std::string& key) -> std::string {
    std::size_t at = text.find(key);
    if (at == std::string::npos) return "";
    std::size_t end = text.find('\n', at);
    return text.substr(at + key.size(), end - at - key.size());
  };
  std::string rps = after("Requests/sec:");
  if (!rps.empty()) r.requests_per_s = std::atof(rps.c_str());
  std::string p50 = after(" 50% "), p99 = after(" 99% ");
  if (!p50.empty()) r.p50_ns = wrk_time_ns(p50.substr(p50.find_first_not_of(' ')));
  if (!p99.empty()) r.p99_ns = wrk_time_ns(p99.substr(p99.find_first_not_of(' ')));
  std::size_t in = text.find(" requests in ");
  if (in != std::string::npos) {
    std::size_t start = text.rfind('\n', in);
    r.requests = std::atol(text.c_str() + (start == std::string::npos ? 0 : start + 1));
  }
  std::string errs = after("Socket errors:");
  if (!errs.empty()) {
    long c = 0, rd = 0, w = 0, t = 0;
    std::sscanf(errs.c_str(), " connect %ld, read %ld, write %ld, timeout %ld", &c, &rd, &w, &t);
    r.socket_errors = c + rd + w + t;
  }
  std::string non = after("Non-2xx or 3xx responses:");
  if (!non.empty()) r.non_2xx = std::atol(non.c_str());
  return r;
}

inline bool have_wrk() {
  return std::system("command -v wrk >/dev/null 2>&1") == 0;
}

// The real wrk: `wrk -t1 -cCONNS -dSECONDSs --latency http://127.0.0.1:PORT/PATH`. wrk counts a
// response slower than its timeout (2 s unless timeout_s > 0) as a socket error: tests, which
// must not depend on the host's speed, pass a long one.
inline wrk_result run_wrk(int port, int seconds, int conns = 64, const std::string& path = "/",
                          int timeout_s = 0) {
  std::string cmd = "wrk -t1 -c" + std::to_string(conns) + " -d" + std::to_string(seconds) + "s";
  if (timeout_s > 0) cmd += " --timeout " + std::to_string(timeout_s) + "s";
  cmd += " --latency http://127.0.0.1:" + std::to_string(port) + path + " 2>&1";
  std::string text;
  if (FILE* f = popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
    pclose(f);
  }
  return parse_wrk(text);
}

}  // namespace cpustop::loadgen
