// The benchmark registry behind `cpustop bench NAME`. Each benchmark measures ours and its peer
// in the same run and ends its output with one line per comparison:
//   BENCH <metric> ours_ns=<float> <peer>_ns=<float> ratio=<ours/peer>
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cpustop::bench {

struct benchmark {
  std::string name;
  std::string description;
  std::function<int()> run;  // 0 on success
};

const std::vector<benchmark>& all();
// Registers at static-initialisation time (see the .cpp files in bench/).
struct registrar {
  registrar(std::string name, std::string description, std::function<int()> run);
};

// Prints a BENCH line.
void report(const std::string& metric, double ours_ns, const std::string& peer, double peer_ns);

}  // namespace cpustop::bench
