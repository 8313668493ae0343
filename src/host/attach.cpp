// The host layer's part of every boot: the machine's facts for the views (owner, boot time), and,
// unless turned off, what lets it be found and steered from outside: the runtime directory, the
// control socket answering `cpustop attach/list/enter`, and the FUSE view.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <sstream>

#include "cpustop/cpustop.h"
#include "cpustop/shell.h"
#include "host/control_socket.h"
#include "host/fuse_view.h"
#include "host/runtime_dir.h"
#include "host/sys_request.h"

namespace cpustop::host {

namespace {

struct attach_state {
  std::string dir;
  control_socket sock;
  fuse_view view;
  std::string view_missing;  // why there is no view
  shell_context ctx;
};

std::mutex state_lock;  // boot and shutdown against exit
attach_state* state;

std::uint64_t boot_wallclock() {
  std::string up;
  proc_read("/proc/uptime", &up);
  return static_cast<std::uint64_t>(std::time(nullptr)) - std::strtoull(up.c_str(), nullptr, 10);
}

std::string info_text(const attach_state& s) {
  std::ostringstream o;
  unsigned tasks = 0;
  for (const task_info& t : task_list()) tasks += t.pid > 0;
  o << "version " << PROTOCOL_VERSION << "\npid " << ::getpid() << "\nprogram "
    << process_comm(::getpid()) << "\nstart_time " << process_start_time(::getpid())
    << "\ncpus_online " << num_online_cpus() << "\ncpus_possible " << nr_cpu_ids() << "\ntasks "
    << tasks << "\nview " << (s.view.mounted() ? s.dir + "/view" : "none: " + s.view_missing)
    << "\n";
  return o.str();
}

reply handle(attach_state* s, const request& req, const ucred&) {
  const std::vector<std::string>& argv = req.argv;
  if (argv[0] == "info" && argv.size() == 1) return {false, 0, info_text(*s), {}};
  if (argv[0] == "sys") return sys_request(argv, &s->ctx);
  std::ostringstream out, err;
  shell sh(out, err, &s->ctx);
  sh.set_client_dir(req.cwd);
  int status = sh.run(argv);
  return {false, status, out.str(), err.str()};
}

void stop_locked() {
  attach_state* s = state;
  if (!s) return;
  state = nullptr;
  s->ctx.close(
      true);       // wakes sleeping commands (and those still to come), stops what clients spawned
  s->sock.stop();  // waits for the commands still running
  s->ctx.close();  // and what they spawned meanwhile
  s->view.stop();
  runtime_dir_remove(s->dir);
  delete s;
}

// A program that exits without shutdown() leaves nothing behind either.
void at_exit() {
  std::lock_guard g(state_lock);
  if (state) runtime_dir_remove(state->dir);
}

void after_boot() {
  proc_set_host_info({geteuid(), getegid(), boot_wallclock()});
  const char* env = std::getenv("CPUSTOP_ATTACH");
  if (!boot_parameters().attach || (env && std::strcmp(env, "0") == 0)) return;
#ifdef CPUSTOP_ARCH_SIM
  // The simulator runs every CPU on one thread, in an order its seed decides: outside threads
  // calling in would break that.
  printk("attach: off in the simulator");
  return;
#endif
  std::lock_guard g(state_lock);
  if (state) return;
  static bool registered = (std::atexit(at_exit), true);
  (void)registered;
  auto* s = new attach_state;
  if (int err = runtime_dir_create(&s->dir)) {
    printk(std::string("attach: no runtime directory: ") + std::strerror(-err));
    delete s;
    return;
  }
  if (int err = s->sock.start(s->dir + "/ctl", [s](const request& req, const ucred& peer) {
        return handle(s, req, peer);
      })) {
    printk(std::string("attach: no control socket: ") + std::strerror(-err));
    runtime_dir_remove(s->dir);
    delete s;
    return;
  }
  if (s->view.start(s->dir + "/view", &s->view_missing) != 0)
    printk("attach: no FUSE view: " + s->view_missing);
  printk("attach: " + s->dir + "/ctl" +
         (s->view.mounted() ? ", views in " + s->dir + "/view" : ""));
  state = s;
}

void before_shutdown() {
  std::lock_guard g(state_lock);
  stop_locked();
}

const detail::host_hooks hooks = {after_boot, before_shutdown};

}  // namespace

}  // namespace cpustop::host

namespace cpustop::detail {

int host_register() {
  set_host_hooks(&host::hooks);
  return 0;
}

}  // namespace cpustop::detail
