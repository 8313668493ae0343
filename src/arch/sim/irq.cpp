// The asynchronous interrupt in the simulator: irq_raise() marks the target CPU, and the
// interrupt is delivered at that CPU's next scheduling point, where the kernel's handler decides
// (as it does for a native SIGURG) whether to preempt. A scheduling point is always in cpustop's
// own code, never inside libc, so every interrupted "program counter" is in application text.
#include "arch/sim/sim.h"

namespace cpustop::arch {

namespace {
irq_handler_t handler;
// Stands for the interrupted program counter: any value pc_in_app_text() accepts.
constexpr std::uintptr_t SIM_PC = 1;
}  // namespace

void sim::deliver_irq() {
  entity* e = current;
  if (!e->irq_pending) return;
  e->irq_pending = false;
  if (handler) handler(SIM_PC);
}

void irq_install(irq_handler_t h) {
  handler = h;
}

void irq_uninstall() {
  handler = nullptr;
}

void irq_raise(unsigned cpu) {
  sim::ensure_init();
  sim::point(sim::op::ipi);
  sim::entity* e = sim::cpu_entity(cpu);
  if (e && e->state != sim::state::dead) e->irq_pending = true;
}

bool pc_in_app_text(std::uintptr_t) {
  return true;
}

}  // namespace cpustop::arch
