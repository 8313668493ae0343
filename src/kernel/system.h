// Machine-wide state: where boot or halt is, and the parameters of this boot.
#pragma once

#include <atomic>

#include "cpustop/boot.h"

namespace cpustop {

enum system_states {
  SYSTEM_BOOTING,
  SYSTEM_SCHEDULING,
  SYSTEM_RUNNING,
  SYSTEM_HALT,
};

extern std::atomic<system_states> system_state;
extern boot_params boot_params_current;
// Set by shutdown once nothing is left to run: idle loops return to the arch layer.
extern std::atomic<bool> machine_halting;

}  // namespace cpustop
