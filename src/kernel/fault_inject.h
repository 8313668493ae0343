// The simulator's fault switches (cpustop/sim.h: sim::fault): each hook re-introduces one
// historical bug class so that the simulator can show it finds it. The native platform compiles
// every check to false.
#pragma once

#include "arch/arch.h"
#include "cpustop/sim.h"

namespace cpustop {

inline bool fault_injected(sim::fault f) {
  return arch::fault_injected(static_cast<unsigned>(f));
}

}  // namespace cpustop
