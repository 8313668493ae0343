#include "bench.h"

#include "bench_util.h"

#include <fmt/core.h>

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
  // Each benchmark starts with the main thread free to run anywhere, whatever ran before it.
  registry().push_back({std::move(name), std::move(description), [run = std::move(run)] {
                          unpin_self();
                          return run();
                        }});
}

void report(const std::string& metric, double ours_ns, const std::string& peer, double peer_ns) {
  fmt::print("BENCH {} ours_ns={:.1f} {}_ns={:.1f} ratio={:.3f}\n", metric, ours_ns, peer, peer_ns,
             peer_ns > 0 ? ours_ns / peer_ns : 0.0);
}

}  // namespace cpustop::bench
