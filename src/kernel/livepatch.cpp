// Live patching with stop_machine: while every CPU is stopped, no call can enter or leave a
// function, so checking that none is in flight and swapping the pointers is atomic for everyone.
#include "cpustop/livepatch.h"

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <vector>

#include "cpustop/sched.h"
#include "cpustop/stop_machine.h"
#include "kernel/printk.h"
#include "kernel/sched/wait.h"

namespace cpustop {

namespace {

// Enabled patches, oldest first; under klp_mutex_list (readers are outside the machine too).
std::mutex klp_mutex_list;
std::vector<klp_patch*> enabled_patches;

struct switch_request {
  klp_patch* patch;
  bool enable;
};

// Runs once, on the first online CPU, with every CPU stopped.
int klp_try_switch(void* data) {
  auto* req = static_cast<switch_request*>(data);
  for (const klp_func_change& c : req->patch->funcs)
    if (c.target->active() != 0) return -EBUSY;  // a task is inside: never half a patch
  for (const klp_func_change& c : req->patch->funcs) {
    c.target->redirect(req->enable ? c.replacement : c.target->orig());
  }
  req->patch->enabled = req->enable;
  return 0;
}

int klp_transition(klp_patch* patch, bool enable, unsigned timeout_ms) {
  if (patch->enabled == enable) return -EINVAL;
  if (enable) {
    for (const klp_func_change& c : patch->funcs)
      if (c.target->impl() != c.target->orig()) return -EINVAL;  // patched by another
  }
  // The counts are read by klp_patches() (an attached `livepatch`) while the patch is listed.
  auto count = [patch](bool refused) {
    std::lock_guard g(klp_mutex_list);
    (refused ? patch->refused : patch->attempts)++;
  };
  {
    std::lock_guard g(klp_mutex_list);
    patch->attempts = patch->refused = 0;
  }
  u64 deadline = arch::local_clock() + u64{timeout_ms} * 1000000;
  wait_queue_head wq;
  init_waitqueue_head(&wq);
  for (;;) {
    count(false);
    switch_request req{patch, enable};
    int ret = stop_machine(klp_try_switch, &req, nullptr);
    if (ret == 0) {
      std::lock_guard g(klp_mutex_list);
      if (enable)
        enabled_patches.push_back(patch);
      else
        std::erase(enabled_patches, patch);
    }
    if (ret != -EBUSY) return ret;
    count(true);
    if (arch::local_clock() >= deadline) {
      printk_fmt("livepatch: %s failed: a task stayed inside a patched function",
                 enable ? "enable" : "disable");
      return -EBUSY;
    }
    // Let the tasks inside leave: 100 us, from a task or from a thread outside cpustop.
    wait_event_timeout(
        wq, [] { return false; }, 100000);
  }
}

}  // namespace

int klp_enable_patch(klp_patch* patch, unsigned timeout_ms) {
  return klp_transition(patch, true, timeout_ms);
}

int klp_disable_patch(klp_patch* patch, unsigned timeout_ms) {
  return klp_transition(patch, false, timeout_ms);
}

klp_patch::~klp_patch() {
  std::lock_guard g(klp_mutex_list);
  std::erase(enabled_patches, this);
}

std::vector<klp_patch_info> klp_patches() {
  std::lock_guard g(klp_mutex_list);
  std::vector<klp_patch_info> out;
  for (const klp_patch* p : enabled_patches) {
    klp_patch_info info{p->name, {}, p->attempts, p->refused};
    for (const klp_func_change& c : p->funcs)
      info.funcs.push_back({c.target->name(), c.target->active()});
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace cpustop
