// Parsing the declared topology of boot_params::topology.
#include "kernel/sched/topology.h"

#include <charconv>
#include <string_view>

#include "kernel/init.h"

namespace cpustop {

bool parse_topology(const std::string& text, topology_spec* out) {
  topology_spec spec;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view key = item.substr(0, eq), val = item.substr(eq + 1);
    unsigned v = 0;
    auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), v);
    if (ec != std::errc() || p != val.data() + val.size() || v == 0) return false;
    if (key == "smt")
      spec.smt = v;
    else if (key == "llc")
      spec.llc = v;
    else if (key == "numa")
      spec.numa = v;
    else
      return false;
  }
  *out = spec;
  return true;
}

bool topology_params_valid(const std::string& topology, unsigned nr) {
  topology_spec spec;
  return nr > 0 && parse_topology(topology, &spec);
}

}  // namespace cpustop
