// cpustop: the command-line program.
#include <cstdio>
#include <string>

#include "cpustop/boot.h"

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "boot") {
    cpustop::boot_params p;
    if (argc > 3 && std::string(argv[2]) == "--cpus")
      p.nr_cpus = static_cast<unsigned>(std::stoul(argv[3]));
    int err = cpustop::boot(p);
    if (err) {
      std::fprintf(stderr, "cpustop: boot failed: %d\n", err);
      return 1;
    }
    int s = cpustop::shutdown();
    std::fputs(cpustop::dmesg().c_str(), stdout);
    return s ? 1 : 0;
  }
  std::fprintf(stderr, "usage: cpustop boot [--cpus N]\n");
  return 2;
}
