// Symbol names through the dynamic symbol table (executables are linked with -rdynamic).
#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "arch/arch.h"

namespace cpustop::arch {

std::string symbolize(unsigned long addr) {
  Dl_info info;
  if (addr && dladdr(reinterpret_cast<void*>(addr), &info) && info.dli_sname) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
    std::string name = status == 0 && demangled ? demangled : info.dli_sname;
    std::free(demangled);
    // Keep the function name, drop the argument list: "cpustop::multi_cpu_stop".
    if (auto paren = name.find('('); paren != std::string::npos && status == 0) name.resize(paren);
    // A return address lies inside its function: print it as the kernel's %pS does.
    auto off = addr - reinterpret_cast<unsigned long>(info.dli_saddr);
    if (off) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "+0x%lx", off);
      name += buf;
    }
    return name;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%lx", addr);
  return buf;
}

}  // namespace cpustop::arch
