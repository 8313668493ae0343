// The public face of the client side (cpustop/attach.h) over host/client and host/runtime_dir.
#include "cpustop/attach.h"

#include <unistd.h>

#include "host/client.h"
#include "host/runtime_dir.h"

namespace cpustop {

struct attach_client::impl {
  host::client c;
};

attach_client::attach_client() : impl_(std::make_unique<impl>()) {}
attach_client::~attach_client() = default;

int attach_client::connect(pid_t pid, std::string* why) {
  return impl_->c.connect(pid, why);
}

int attach_client::call(const std::vector<std::string>& argv, attach_reply* out, std::string* why) {
  host::reply r;
  int err = impl_->c.call(argv, &r, why);
  if (!err) *out = {r.refused, r.status, std::move(r.out), std::move(r.err)};
  return err;
}

const std::string& attach_client::dir() const {
  return impl_->c.dir();
}

std::vector<attach_machine> attach_list() {
  std::vector<attach_machine> out;
  for (const host::machine_entry& e : host::runtime_dir_scan(geteuid()))
    out.push_back({e.pid, e.start_time, e.program, e.dir});
  return out;
}

std::string process_comm(pid_t pid) {
  return host::process_comm(pid);
}

}  // namespace cpustop
