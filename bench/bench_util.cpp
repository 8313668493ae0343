#include "bench_util.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

namespace cpustop::bench {

// ---- comparing ours with peers -------------------------------------------------------------

double spread::median() const {
  return bench::median(samples);
}
double spread::min() const {
  return samples.empty() ? 0 : *std::min_element(samples.begin(), samples.end());
}
double spread::max() const {
  return samples.empty() ? 0 : *std::max_element(samples.begin(), samples.end());
}
bool spread::measured() const {
  return !samples.empty() && std::all_of(samples.begin(), samples.end(),
                                         [](double v) { return v >= 0 && std::isfinite(v); });
}

namespace {

struct records {
  std::vector<comparison> comparisons;
  std::vector<scaling_point> scaling;
  std::vector<std::string> printed, queued;
};
records& rec() {
  static records r;
  return r;
}

// Three significant digits at least, so that sub-nanosecond figures keep their meaning.
std::string ns(double v) {
  return fmt::format("{:.{}f}", v, v >= 100 ? 1 : v >= 1 ? 2 : 3);
}

}  // namespace

std::vector<spread> alternate(const std::vector<side>& sides, int rounds) {
  rounds = std::max(rounds, MIN_ROUNDS);
  std::vector<spread> out(sides.size());
  for (int r = 0; r < rounds; r++)
    for (size_t i = 0; i < sides.size(); i++) out[i].samples.push_back(sides[i].measure());
  return out;
}

void report(const std::string& metric, const spread& ours, const std::string& peer,
            const spread& p) {
  if (!ours.measured() || !p.measured()) {
    rec().queued.push_back(fmt::format("# {}: {} not measured on this host", metric,
                                       ours.measured() ? peer : std::string("ours")));
    return;
  }
  double ratio = p.median() > 0 ? ours.median() / p.median() : 0.0;
  std::string line = fmt::format(
      "BENCH {} ours_ns={} {}_ns={} ratio={:.3f} ours_min_ns={} ours_max_ns={} {}_min_ns={} "
      "{}_max_ns={} rounds={}",
      metric, ns(ours.median()), peer, ns(p.median()), ratio, ns(ours.min()), ns(ours.max()), peer,
      ns(p.min()), peer, ns(p.max()), std::min(ours.samples.size(), p.samples.size()));
  rec().comparisons.push_back({metric, peer, ours, p});
  rec().queued.push_back(std::move(line));
}

std::vector<spread> compare(const std::string& metric, std::function<double()> ours,
                            const std::vector<side>& peers, int rounds) {
  std::vector<side> sides{{"ours", std::move(ours)}};
  sides.insert(sides.end(), peers.begin(), peers.end());
  std::vector<spread> out = alternate(sides, rounds);
  for (size_t i = 1; i < out.size(); i++) report(metric, out[0], sides[i].name, out[i]);
  return out;
}

spread recorded(double value, int rounds) {
  return {std::vector<double>(static_cast<size_t>(std::max(rounds, MIN_ROUNDS)), value)};
}

void report_scaling(const std::string& metric, const std::string& source, unsigned cpus,
                    const spread& s) {
  if (!s.measured()) {
    rec().queued.push_back(fmt::format("# {} on {} CPUs ({}): not measured", metric, cpus, source));
    return;
  }
  rec().scaling.push_back({metric, source, cpus, s});
  rec().queued.push_back(
      fmt::format("SCALE {} source={} cpus={} ns={} min_ns={} max_ns={} rounds={}", metric, source,
                  cpus, ns(s.median()), ns(s.min()), ns(s.max()), s.samples.size()));
}

const std::vector<comparison>& comparisons() {
  return rec().comparisons;
}
const std::vector<scaling_point>& scaling_points() {
  return rec().scaling;
}
const std::vector<std::string>& printed_lines() {
  return rec().printed;
}

void flush_reports() {
  for (std::string& line : rec().queued) {
    fmt::print("{}\n", line);
    if (line[0] != '#') rec().printed.push_back(std::move(line));
  }
  rec().queued.clear();
  std::fflush(stdout);
}

// ---- the machine and the host ----------------------------------------------------------------

machine::machine(boot_params p) : err_(boot(p)) {
  if (err_) fmt::print(stderr, "cpustop bench: boot failed: {}\n", err_);
}

machine::~machine() {
  if (!err_) shutdown();
}

double in_task(std::function<double()> fn, const task_attr& attr) {
  double result = 0;
  pid_t pid = spawn(
      "bench", [&] { result = fn(); }, attr);
  if (pid <= 0 || join(pid, nullptr) != 0) return -1;
  return result;
}

namespace {

// The hardware CPUs this process may use, captured before main() and so before any benchmark
// pinned the main thread.
const std::vector<int>& startup_cpus() {
  static const std::vector<int> cpus = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof(set), &set);
    std::vector<int> v;
    for (int i = 0; i < CPU_SETSIZE; i++)
      if (CPU_ISSET(i, &set)) v.push_back(i);
    return v;
  }();
  return cpus;
}
[[maybe_unused]] const std::vector<int>& captured_at_startup = startup_cpus();

// The output of a shell command, or "" when it cannot be run.
std::string command_output(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) out.append(buf, n);
  pclose(f);
  return out;
}

// The value of `key:` in lscpu's output, trimmed.
std::string lscpu_field(const std::string& text, const std::string& key) {
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind(key + ":", 0) != 0) continue;
    size_t v = line.find_first_not_of(" \t", key.size() + 1);
    return v == std::string::npos ? std::string() : line.substr(v);
  }
  return {};
}

}  // namespace

unsigned hw_cpus() {
  return static_cast<unsigned>(startup_cpus().size());
}

int hw_cpu(unsigned n) {
  const std::vector<int>& allowed = startup_cpus();
  return allowed[n % allowed.size()];
}

void pin_self(unsigned n) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(hw_cpu(n), &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

void unpin_self() {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : startup_cpus()) CPU_SET(c, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

std::string host_line() {
  std::string lscpu = command_output("LC_ALL=C lscpu 2>/dev/null");
  std::string model = lscpu_field(lscpu, "Model name");
  std::string cpus = lscpu_field(lscpu, "CPU(s)");
  return fmt::format("HOST model=\"{}\" cpus={} usable={}", model.empty() ? "unknown" : model,
                     cpus.empty() ? "unknown" : cpus, hw_cpus());
}

void section(const std::string& title) {
  fmt::print("--- {}\n", title);
}

// ---- peers shared by several benchmarks ------------------------------------------------------

namespace {
long futex(std::atomic<std::uint32_t>* w, int op, std::uint32_t v) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(w), op | FUTEX_PRIVATE_FLAG, v,
                 nullptr, nullptr, 0);
}
}  // namespace

double futex_pingpong_roundtrip_ns(int iterations) {
  std::atomic<std::uint32_t> turn{0};  // 0: ping's move, 1: pong's move
  double total = 0;
  std::thread pong([&] {
    pin_self(1);
    for (int i = 0; i < iterations; i++) {
      while (turn.load() != 1) futex(&turn, FUTEX_WAIT, 0);
      turn.store(0);
      futex(&turn, FUTEX_WAKE, 1);
    }
  });
  std::thread ping([&] {
    pin_self(0);
    for (int i = 0; i < iterations; i++) {
      auto t0 = bench_clock::now();
      turn.store(1);
      futex(&turn, FUTEX_WAKE, 1);
      while (turn.load() != 0) futex(&turn, FUTEX_WAIT, 1);
      total += ns_between(t0, bench_clock::now());
    }
  });
  ping.join();
  pong.join();
  return total / iterations;
}

std::string go_binary(const std::string& name, const std::string& source) {
  static std::map<std::string, std::string> built;  // name -> path ("" when it failed)
  if (auto it = built.find(name); it != built.end()) return it->second;
  std::string& path = built[name];
  if (std::system("command -v go >/dev/null 2>&1") != 0) return path;
  const std::string root = "/tmp/cpustop-bench-go";
  const std::string dir = root + "/" + name;
  if (std::system(("mkdir -p " + dir).c_str()) != 0) return path;
  std::ofstream(dir + "/main.go") << source;
  // GOCACHE and GOPATH under /tmp: CI may run without a HOME to put them in.
  std::string cmd = "cd " + dir + " && GOCACHE=" + root + "/cache GOPATH=" + root +
                    "/gopath GO111MODULE=off go build -o " + name + " main.go >build.log 2>&1";
  if (std::system(cmd.c_str()) == 0) path = dir + "/" + name;
  return path;
}

double go_measure(const std::string& binary, const std::string& env) {
  if (binary.empty()) return -1;
  FILE* f = popen((env + " " + binary + " 2>/dev/null").c_str(), "r");
  if (!f) return -1;
  double v = -1;
  if (std::fscanf(f, "%lf", &v) != 1) v = -1;
  pclose(f);
  return v;
}

}  // namespace cpustop::bench
