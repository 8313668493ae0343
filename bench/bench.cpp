#include "bench.h"

#include <fmt/core.h>

#include <algorithm>

#include "bench_util.h"
#include "report.h"

namespace cpustop::bench {

namespace {
std::vector<benchmark>& registry() {
  static std::vector<benchmark> r;
  return r;
}
}  // namespace

const std::vector<benchmark>& all() {
  return registry();
}

registrar::registrar(std::string name, std::string description, std::function<int()> run) {
  // Each benchmark starts with the main thread free to run anywhere, whatever ran before it, and
  // its BENCH lines come last in its output.
  registry().push_back({std::move(name), std::move(description), [run = std::move(run)] {
                          unpin_self();
                          int err = run();
                          flush_reports();
                          return err;
                        }});
}

int run_command(const std::string& name, const std::string& report_dir) {
  if (name == "list") {
    for (const auto& b : all()) fmt::print("{:<14} {}\n", b.name, b.description);
    return 0;
  }
  // "all", or names separated by commas, run in the order given.
  std::vector<const benchmark*> chosen;
  for (size_t pos = 0; pos <= name.size();) {
    size_t end = std::min(name.find(',', pos), name.size());
    std::string one = name.substr(pos, end - pos);
    pos = end + 1;
    size_t before = chosen.size();
    for (const auto& b : all())
      if (one == "all" || b.name == one) chosen.push_back(&b);
    if (chosen.size() == before) {
      fmt::print(stderr, "cpustop: unknown benchmark '{}' (try `cpustop bench list`)\n", one);
      return 1;
    }
  }
  std::string host = host_line();
  fmt::print("{}\n", host);
  int failed = 0;
  for (const benchmark* b : chosen) {
    fmt::print("=== {}: {}\n", b->name, b->description);
    std::fflush(stdout);
    if (b->run()) {
      fmt::print("=== {}: FAILED\n", b->name);
      failed++;
    }
  }
  if (!report_dir.empty()) {
    if (int err = write_report(report_dir, host)) {
      fmt::print(stderr, "cpustop: bench: cannot write the report to {}: {}\n", report_dir, err);
      return 1;
    }
    fmt::print("report: {}/index.html\n", report_dir);
  }
  return failed ? 1 : 0;
}

}  // namespace cpustop::bench
