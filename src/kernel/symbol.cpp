#include "kernel/symbol.h"

#include "arch/arch.h"

namespace cpustop {

std::string symbol_name(unsigned long addr) {
  return arch::symbolize(addr);
}

}  // namespace cpustop
