// Live patching (kernel/livepatch, with kpatch's stop_machine consistency model): a patch
// redirects a set of functions to new versions atomically, with every CPU stopped, and only at a
// moment when no task is inside any of those functions. So no call ever sees half a patch: a
// function that belongs to the patch runs entirely old or entirely new, together with everything
// else in the patch that it calls.
//
// Patchable functions are klp_func objects: calls go through them, and they count the calls in
// flight. A patch names functions and their replacements:
//
//   klp_func<int(int)> checksum{"checksum", checksum_v1};
//   klp_patch patch{{klp_func_change(checksum, checksum_v2)}};
//   klp_enable_patch(&patch);   // all callers now get checksum_v2
//   klp_disable_patch(&patch);  // and back
//
// To keep a multi-step operation consistent, make its entry point a klp_func in the patch too
// (with the same or a new implementation): while a task is inside it, the patch waits.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace cpustop {

// The part of a patchable function that the patch machinery sees.
class klp_func_base {
 public:
  explicit klp_func_base(const char* name, void* impl) : name_(name), impl_(impl), orig_(impl) {}
  klp_func_base(const klp_func_base&) = delete;
  klp_func_base& operator=(const klp_func_base&) = delete;
  const char* name() const { return name_; }
  // Calls currently inside this function (in any of its versions).
  long active() const { return active_.load(std::memory_order_acquire); }
  void* impl() const { return impl_.load(std::memory_order_acquire); }
  // For the patch machinery (klp_enable_patch), with every CPU stopped.
  void* orig() const { return orig_; }
  void redirect(void* impl) { impl_.store(impl, std::memory_order_release); }

 protected:
  struct call_scope {
    const klp_func_base* f;
    explicit call_scope(const klp_func_base* fn) : f(fn) {
      f->active_.fetch_add(1, std::memory_order_acq_rel);
    }
    ~call_scope() { f->active_.fetch_sub(1, std::memory_order_release); }
  };

 private:
  const char* name_;
  std::atomic<void*> impl_;
  void* const orig_;
  mutable std::atomic<long> active_{0};
};

template <class Sig>
class klp_func;

template <class R, class... A>
class klp_func<R(A...)> : public klp_func_base {
 public:
  using fn_t = R (*)(A...);
  klp_func(const char* name, fn_t impl) : klp_func_base(name, reinterpret_cast<void*>(impl)) {}
  // Any context; the call counts as "inside" from before the version is chosen until it returns.
  R operator()(A... args) const {
    call_scope scope(this);
    return reinterpret_cast<fn_t>(impl())(static_cast<A&&>(args)...);
  }
};

// One redirection: calls to target go to replacement while the patch is enabled.
struct klp_func_change {
  klp_func_base* target;
  void* replacement;
  template <class R, class... A>
  klp_func_change(klp_func<R(A...)>& f, R (*repl)(A...))
      : target(&f), replacement(reinterpret_cast<void*>(repl)) {}
};

struct klp_patch {
  explicit klp_patch(std::initializer_list<klp_func_change> changes,
                     const char* patch_name = "livepatch")
      : name(patch_name), funcs(changes) {}
  // An enabled patch stays where it is until disabled; destroying it only drops it from the list.
  ~klp_patch();
  const char* name;  // as /sys/kernel/livepatch/<name> would show it
  std::vector<klp_func_change> funcs;
  bool enabled = false;
  // Statistics of the last enable/disable, readable while it runs.
  std::atomic<unsigned long> attempts{0};  // stop_machine calls
  std::atomic<unsigned long> refused{0};   // of which found a task inside a patched function
};

// Redirects every function of the patch at once, inside stop_machine, retrying (sleeping 100 us
// between tries) while a task is inside one of them. May sleep. 0; -EBUSY after timeout_ms
// without a quiescent moment; -EINVAL if already enabled or a function belongs to another
// enabled patch; -EDEADLK from atomic context.
int klp_enable_patch(klp_patch* patch, unsigned timeout_ms = 5000);
// Restores the original functions in the same way. 0, -EBUSY, -EINVAL (not enabled).
int klp_disable_patch(klp_patch* patch, unsigned timeout_ms = 5000);

// The patches enabled now, oldest first (what /sys/kernel/livepatch lists). Any context.
struct klp_patch_info {
  std::string name;
  struct func {
    std::string name;
    long active;  // calls inside it now
  };
  std::vector<func> funcs;
  unsigned long attempts, refused;  // of its last enable
};
std::vector<klp_patch_info> klp_patches();

}  // namespace cpustop
