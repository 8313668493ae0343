// The FUSE export (see fuse_view.h), on libfuse's low-level API: nodes are paths of the view,
// numbered as the kernel looks them up and dropped when it forgets them.
#define FUSE_USE_VERSION 312
#include "host/fuse_view.h"

#include <dirent.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cpustop/cpustop.h"
#include "cpustop/shell.h"
#include "host/runtime_dir.h"

namespace cpustop::host {

namespace {

constexpr double STABLE_TIMEOUT = 3600;  // seconds: entries that live as long as their parent

struct vnode {
  std::string path;  // "/", "/proc/42/stat", ... (real nodes: the same path in the real procfs)
  bool real = false;
  std::uint64_t nlookup = 0;
};

struct open_file {
  std::mutex lock;  // the kernel orders a file's requests; this tells the sanitizers so
  std::string data;
  bool read_once = false;  // a read at offset 0 after the first builds the text anew
  int real_fd = -1;
  bool writable = false;
  std::string path;
  ~open_file() {
    if (real_fd >= 0) close(real_fd);
  }
};

struct open_dir {
  std::mutex lock;
  std::vector<std::pair<std::string, mode_t>> entries;
};

struct caller {
  pid_t tid = 0, tgid = 0;
  uid_t uid = 0;
};

bool parse_pid_name(std::string_view s, pid_t* out) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return false;
  pid_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return v > 0;
}

pid_t real_tgid(pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(tid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Tgid:", 0) == 0) return static_cast<pid_t>(std::atoi(line.c_str() + 5));
  return tid;
}

// "/proc/<name>..." -> name; empty for other paths.
std::string_view proc_component(std::string_view path) {
  if (path.rfind("/proc/", 0) != 0) return {};
  std::string_view rest = path.substr(6);
  return rest.substr(0, rest.find('/'));
}

std::string child_path(const std::string& parent, const char* name) {
  return parent == "/" ? std::string("/") + name : parent + "/" + name;
}

void route_fuse_log(enum fuse_log_level, const char* fmt, va_list ap) {
  char buf[512];
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  std::string line = buf;
  while (!line.empty() && line.back() == '\n') line.pop_back();
  printk("attach: " + line);
}

}  // namespace

struct fuse_view::impl {
  fuse_session* se = nullptr;
  std::string mountpoint;
  std::thread reader_thread, store_thread;
  int stop_fd = -1;
  std::mutex stores_lock;
  std::condition_variable stores_cv;
  std::deque<std::function<void()>> stores;
  std::atomic<bool> stopping{false};
  uid_t owner = 0;
  gid_t group = 0;
  timespec btime{};

  std::mutex nodes_lock;
  std::unordered_map<fuse_ino_t, vnode> nodes;
  std::unordered_map<std::string, fuse_ino_t> by_path;
  fuse_ino_t next_ino = FUSE_ROOT_ID + 1;

  static impl* of(fuse_req_t req) { return static_cast<impl*>(fuse_req_userdata(req)); }

  caller who(fuse_req_t req) {
    const fuse_ctx* c = fuse_req_ctx(req);
    return {c->pid, 0, c->uid};
  }
  bool allowed(fuse_req_t req) {
    uid_t uid = fuse_req_ctx(req)->uid;
    return uid == owner || uid == 0;
  }

  bool node(fuse_ino_t ino, vnode* out) {
    std::lock_guard g(nodes_lock);
    auto it = nodes.find(ino);
    if (it == nodes.end()) return false;
    *out = it->second;
    return true;
  }
  fuse_ino_t remember(const std::string& path, bool real) {
    std::lock_guard g(nodes_lock);
    auto it = by_path.find(path);
    fuse_ino_t ino;
    if (it != by_path.end() && nodes[it->second].real == real) {
      ino = it->second;
    } else {
      ino = next_ino++;
      by_path[path] = ino;
      nodes[ino] = {path, real, 0};
    }
    nodes[ino].nlookup++;
    return ino;
  }
  void forget(fuse_ino_t ino, std::uint64_t n) {
    if (ino == FUSE_ROOT_ID) return;
    std::lock_guard g(nodes_lock);
    auto it = nodes.find(ino);
    if (it == nodes.end()) return;
    if (it->second.nlookup > n) {
      it->second.nlookup -= n;
      return;
    }
    auto p = by_path.find(it->second.path);
    if (p != by_path.end() && p->second == ino) by_path.erase(p);
    nodes.erase(it);
  }

  // What path is, for this caller: a node of the view (its entry), or of the real procfs (its
  // lstat), or nothing (-ENOENT). /proc/self and /proc/thread-self are the caller's links.
  // *entry_timeout: how long the kernel may trust that the name exists (long for what lives as
  // long as its parent; 0 for a task's directory); *attr_timeout: its attributes (a view node's
  // never change; the real side's may).
  int classify(fuse_req_t req, const std::string& path, bool* real, struct stat* st,
               double* entry_timeout, double* attr_timeout) {
    *entry_timeout = *attr_timeout = 0;
    *st = {};
    proc_entry e;
    std::string_view first = proc_component(path);
    bool self_link = path == "/proc/self" || path == "/proc/thread-self";
    if (!self_link && proc_lookup(path, &e) == 0) {
      *real = false;
      view_stat(e, st);
      if (e.stable) *entry_timeout = STABLE_TIMEOUT;
      *attr_timeout = STABLE_TIMEOUT;
      return 0;
    }
    *real = false;
    if (self_link) {  // the same for everyone; readlink says whose
      st->st_mode = S_IFLNK | 0777;
      st->st_nlink = 1;
      own(st);
      *entry_timeout = *attr_timeout = STABLE_TIMEOUT;
      return 0;
    }
    if (first.empty()) return -ENOENT;  // /sys/...: the machine's only
    pid_t pid;
    if (parse_pid_name(first, &pid)) {
      // The caller's own process (its directory, or one of its threads'), unless the machine
      // has a task with that pid.
      task_info t;
      if (task_get_info(pid, &t) == 0) return -ENOENT;
      caller c = who(req);
      if (pid != c.tid && pid != real_tgid(c.tid)) return -ENOENT;
    }
    if (lstat(path.c_str(), st) != 0) return -errno;
    *real = true;
    return 0;
  }

  void own(struct stat* st) {
    st->st_uid = owner;
    st->st_gid = group;
    st->st_atim = st->st_mtim = st->st_ctim = btime;
  }
  void view_stat(const proc_entry& e, struct stat* st) {
    switch (e.type) {
      case proc_entry_type::dir:
        st->st_mode = S_IFDIR | e.mode;
        st->st_nlink = 2;
        break;
      case proc_entry_type::file:
        st->st_mode = S_IFREG | e.mode;
        st->st_nlink = 1;
        break;
      case proc_entry_type::link:
        st->st_mode = S_IFLNK | e.mode;
        st->st_nlink = 1;
        break;
    }
    own(st);
  }

  std::string self_target(fuse_req_t req, const std::string& path) {
    caller c = who(req);
    pid_t tgid = real_tgid(c.tid);
    return path == "/proc/self" ? std::to_string(tgid)
                                : std::to_string(tgid) + "/task/" + std::to_string(c.tid);
  }

  // ---- Operations ------------------------------------------------------------------------------

  static void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    impl* v = of(req);
    vnode p;
    if (!v->allowed(req)) return (void)fuse_reply_err(req, EACCES);
    if (!v->node(parent, &p)) return (void)fuse_reply_err(req, ESTALE);
    std::string path = child_path(p.path, name);
    fuse_entry_param e{};
    bool real;
    if (int err = v->classify(req, path, &real, &e.attr, &e.entry_timeout, &e.attr_timeout))
      return (void)fuse_reply_err(req, -err);
    e.ino = v->remember(path, real);
    e.attr.st_ino = e.ino;
    if (fuse_reply_entry(req, &e) != 0) v->forget(e.ino, 1);
  }

  static void forget_one(fuse_req_t req, fuse_ino_t ino, std::uint64_t nlookup) {
    of(req)->forget(ino, nlookup);
    fuse_reply_none(req);
  }
  static void forget_multi(fuse_req_t req, std::size_t count, fuse_forget_data* forgets) {
    for (std::size_t i = 0; i < count; i++) of(req)->forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
  }

  static void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    impl* v = of(req);
    vnode n;
    if (!v->allowed(req)) return (void)fuse_reply_err(req, EACCES);
    if (!v->node(ino, &n)) return (void)fuse_reply_err(req, ESTALE);
    struct stat st;
    bool real;
    double entry_timeout, attr_timeout;
    if (int err = v->classify(req, n.path, &real, &st, &entry_timeout, &attr_timeout))
      return (void)fuse_reply_err(req, -err);
    st.st_ino = ino;
    fuse_reply_attr(req, &st, attr_timeout);
  }

  // Only a truncation (the O_TRUNC of `echo 0 > online`) of a writable file.
  static void setattr(fuse_req_t req, fuse_ino_t ino, struct stat*, int to_set,
                      fuse_file_info* fi) {
    impl* v = of(req);
    vnode n;
    if (!v->allowed(req)) return (void)fuse_reply_err(req, EACCES);
    if (!v->node(ino, &n)) return (void)fuse_reply_err(req, ESTALE);
    proc_entry e;
    if (n.real || proc_lookup(n.path, &e) != 0 || to_set != FUSE_SET_ATTR_SIZE || !(e.mode & 0200))
      return (void)fuse_reply_err(req, EPERM);
    getattr(req, ino, fi);
  }

  static void readlink(fuse_req_t req, fuse_ino_t ino) {
    impl* v = of(req);
    vnode n;
    if (!v->allowed(req)) return (void)fuse_reply_err(req, EACCES);
    if (!v->node(ino, &n)) return (void)fuse_reply_err(req, ESTALE);
    if (n.path == "/proc/self" || n.path == "/proc/thread-self")
      return (void)fuse_reply_readlink(req, v->self_target(req, n.path).c_str());
    if (!n.real) return (void)fuse_reply_err(req, EINVAL);
    char buf[4096];
    ssize_t len = ::readlink(n.path.c_str(), buf, sizeof(buf) - 1);
    if (len < 0) return (void)fuse_reply_err(req, errno);
    buf[len] = '\0';
    fuse_reply_readlink(req, buf);
  }

  static void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    impl* v = of(req);
    vnode n;
    if (!v->allowed(req)) return (void)fuse_reply_err(req, EACCES);
    if (!v->node(ino, &n)) return (void)fuse_reply_err(req, ESTALE);
    int acc = fi->flags & O_ACCMODE;
    auto f = std::make_unique<open_file>();
    f->path = n.path;
    f->writable = acc != O_RDONLY;
    if (n.real) {
      if (acc != O_RDONLY) return (void)fuse_reply_err(req, EACCES);  // the real side is read-only
      f->real_fd = ::open(n.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (f->real_fd < 0) return (void)fuse_reply_err(req, errno);
    } else {
      proc_entry e;
      if (proc_lookup(n.path, &e) != 0) return (void)fuse_reply_err(req, ENOENT);
      if (e.type != proc_entry_type::file) return (void)fuse_reply_err(req, EISDIR);
      if (f->writable && !(e.mode & 0200)) return (void)fuse_reply_err(req, EACCES);
      // Built once per open, as seq_file does.
      if (acc != O_WRONLY)
        if (int err = proc_read(n.path, &f->data)) return (void)fuse_reply_err(req, -err);
    }
    fi->direct_io = 1;  // the size is 0, as procfs reports: read what the open built
    fi->keep_cache = 0;
    fi->fh = reinterpret_cast<std::uint64_t>(f.get());
    if (fuse_reply_open(req, fi) == 0) f.release();
  }

  // Replies go out after the handle's lock is dropped: once the kernel has a reply it may send
  // RELEASE, which the reader serves at once (a store's reply comes from the store thread).
  static void read(fuse_req_t req, fuse_ino_t, std::size_t size, off_t off, fuse_file_info* fi) {
    auto* f = reinterpret_cast<open_file*>(fi->fh);
    std::string out;
    int err = 0;
    {
      std::lock_guard g(f->lock);
      if (f->real_fd >= 0) {
        out.resize(std::min<std::size_t>(size, 1 << 20));
        ssize_t n = pread(f->real_fd, out.data(), out.size(), off);
        if (n < 0) err = errno;
        out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
      } else if (off < 0) {
        err = EINVAL;
      } else {
        // As seq_file: reading from the start again (procps keeps /proc/stat, uptime and
        // loadavg open and rereads them after lseek(0)) shows the state of now.
        if (off == 0 && f->read_once) err = -proc_read(f->path, &f->data);
        if (err == ENOENT) err = ESRCH;  // the task is gone, as proc_single_show() says
        f->read_once = true;
        if (!err && static_cast<std::size_t>(off) < f->data.size())
          out = f->data.substr(static_cast<std::size_t>(off), size);
      }
    }
    if (err) return (void)fuse_reply_err(req, err);
    fuse_reply_buf(req, out.data(), out.size());
  }

  // One write(2) is one store, as sysfs does it; the change is made by a task named after the
  // writer (the shell's `echo` shows up as bash or sh, as in the kernel's trace).
  static void write(fuse_req_t req, fuse_ino_t, const char* buf, std::size_t size, off_t,
                    fuse_file_info* fi) {
    auto* f = reinterpret_cast<open_file*>(fi->fh);
    std::string path;
    {
      std::lock_guard g(f->lock);
      if (f->real_fd >= 0 || !f->writable) return (void)fuse_reply_err(req, EBADF);
      path = f->path;
    }
    pid_t writer = fuse_req_ctx(req)->pid;
    of(req)->queue_store([req, path, data = std::string(buf, size), writer] {
      std::string comm = process_comm(writer);
      int status = 0;
      int err = run_as_task(
          comm.empty() ? "sysfs" : comm, [&] { return proc_write(path, data); }, &status);
      if (!err) err = status;
      if (err) return (void)fuse_reply_err(req, -err);
      fuse_reply_write(req, data.size());
    });
  }

  // Nothing is created, removed or renamed in the view, as in procfs and sysfs: the errors are
  // the VFS's for a directory without that operation.
  static void create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) {
    fuse_reply_err(req, EACCES);
  }
  static void mknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) {
    fuse_reply_err(req, EPERM);
  }
  static void mkdir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { fuse_reply_err(req, EPERM); }
  static void remove(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); }
  static void symlink(fuse_req_t req, const char*, fuse_ino_t, const char*) {
    fuse_reply_err(req, EPERM);
  }
  static void rename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*,
                     unsigned int) {
    fuse_reply_err(req, EPERM);
  }
  static void link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) {
    fuse_reply_err(req, EPERM);
  }

  static void release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    auto* f = reinterpret_cast<open_file*>(fi->fh);
    { std::lock_guard g(f->lock); }  // after the last request on it (for the sanitizers)
    delete f;
    fuse_reply_err(req, 0);
  }

  static void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    impl* v = of(req);
    vnode n;
    if (!v->allowed(req)) return (void)fuse_reply_err(req, EACCES);
    if (!v->node(ino, &n)) return (void)fuse_reply_err(req, ESTALE);
    auto d = std::make_unique<open_dir>();
    d->entries = {{".", S_IFDIR}, {"..", S_IFDIR}};
    std::set<std::string> seen;
    if (!n.real) {
      std::vector<std::string> names;
      if (int err = proc_readdir(n.path, &names)) return (void)fuse_reply_err(req, -err);
      for (const std::string& name : names) {
        proc_entry e;
        proc_lookup(child_path(n.path, name.c_str()), &e);
        d->entries.push_back({name, e.type == proc_entry_type::dir    ? S_IFDIR
                                    : e.type == proc_entry_type::link ? S_IFLNK
                                                                      : S_IFREG});
        seen.insert(name);
      }
      if (n.path == "/proc") {
        d->entries.push_back({"self", S_IFLNK});
        d->entries.push_back({"thread-self", S_IFLNK});
        seen.insert({"self", "thread-self"});
      }
    }
    // The real side: the caller's own directories, and the names of /proc that are not the
    // machine's (no pids: other real processes stay hidden).
    bool merged = n.real || n.path == "/proc" || n.path.rfind("/proc/sys", 0) == 0;
    if (merged) {
      if (DIR* dir = ::opendir(n.path.c_str())) {
        while (dirent* de = ::readdir(dir)) {
          pid_t pid;
          std::string name = de->d_name;
          if (name == "." || name == ".." || seen.count(name)) continue;
          if (n.path == "/proc" && parse_pid_name(name, &pid)) continue;
          d->entries.push_back({name, DTTOIF(de->d_type)});
        }
        closedir(dir);
      }
    }
    fi->fh = reinterpret_cast<std::uint64_t>(d.get());
    if (fuse_reply_open(req, fi) == 0) d.release();
  }

  static void readdir(fuse_req_t req, fuse_ino_t, std::size_t size, off_t off, fuse_file_info* fi) {
    auto* d = reinterpret_cast<open_dir*>(fi->fh);
    std::vector<char> buf(size);
    std::size_t used = 0;
    std::unique_lock g(d->lock);
    for (std::size_t i = static_cast<std::size_t>(std::max<off_t>(off, 0)); i < d->entries.size();
         i++) {
      struct stat st {};
      st.st_ino = std::hash<std::string>{}(d->entries[i].first) | 1;
      st.st_mode = d->entries[i].second;
      std::size_t len =
          fuse_add_direntry(req, buf.data() + used, size - used, d->entries[i].first.c_str(), &st,
                            static_cast<off_t>(i + 1));
      if (len > size - used) break;
      used += len;
    }
    g.unlock();
    fuse_reply_buf(req, buf.data(), used);
  }

  static void releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    auto* d = reinterpret_cast<open_dir*>(fi->fh);
    { std::lock_guard g(d->lock); }
    delete d;
    fuse_reply_err(req, 0);
  }

  // One thread reads and answers every request (a round trip through another thread would
  // cost more than any answer here); stores, which may hotplug a CPU, go to the store thread.
  void reader() {
    int fd = fuse_session_fd(se);
    fuse_buf buf{};
    while (!stopping.load(std::memory_order_relaxed) && !fuse_session_exited(se)) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[1].revents) break;
      int res = fuse_session_receive_buf(se, &buf);
      if (res == -EAGAIN || res == -EINTR) continue;
      if (res <= 0) break;  // unmounted
      fuse_session_process_buf(se, &buf);
    }
    std::free(buf.mem);
  }

  void store_loop() {
    std::unique_lock g(stores_lock);
    for (;;) {
      stores_cv.wait(g, [this] { return !stores.empty() || stopping.load(); });
      if (stores.empty()) return;
      auto job = std::move(stores.front());
      stores.pop_front();
      g.unlock();
      job();
      g.lock();
    }
  }
  void queue_store(std::function<void()> job) {
    {
      std::lock_guard g(stores_lock);
      stores.push_back(std::move(job));
    }
    stores_cv.notify_one();
  }
};

namespace {

const fuse_lowlevel_ops view_ops = [] {
  fuse_lowlevel_ops ops{};
  using v = fuse_view::impl;
  ops.lookup = v::lookup;
  ops.forget = v::forget_one;
  ops.forget_multi = v::forget_multi;
  ops.getattr = v::getattr;
  ops.setattr = v::setattr;
  ops.readlink = v::readlink;
  ops.open = v::open;
  ops.read = v::read;
  ops.write = v::write;
  ops.release = v::release;
  ops.create = v::create;
  ops.mknod = v::mknod;
  ops.mkdir = v::mkdir;
  ops.unlink = v::remove;
  ops.rmdir = v::remove;
  ops.symlink = v::symlink;
  ops.rename = v::rename;
  ops.link = v::link;
  ops.opendir = v::opendir;
  ops.readdir = v::readdir;
  ops.releasedir = v::releasedir;
  return ops;
}();

bool user_allow_other() {
  std::ifstream in("/etc/fuse.conf");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("user_allow_other", 0) == 0) return true;
  return false;
}

}  // namespace

fuse_view::fuse_view() : impl_(std::make_unique<impl>()) {}

fuse_view::~fuse_view() {
  stop();
}

bool fuse_view::mounted() const {
  return impl_->se != nullptr;
}

int fuse_view::start(const std::string& mountpoint, std::string* why) {
  impl& v = *impl_;
  if (v.se) return -EBUSY;
  if (access("/dev/fuse", R_OK | W_OK) != 0) {
    int err = errno;
    *why = std::string("/dev/fuse: ") + std::strerror(err);
    return -err;
  }
  if (mkdir(mountpoint.c_str(), 0700) != 0 && errno != EEXIST) {
    int err = errno;
    *why = mountpoint + ": " + std::strerror(err);
    return -err;
  }
  fuse_set_log_func(route_fuse_log);
  v.owner = geteuid();
  v.group = getegid();
  std::string btime;
  proc_read("/proc/stat", &btime);
  std::size_t at = btime.find("btime ");
  v.btime.tv_sec = at == std::string::npos ? 0 : std::atol(btime.c_str() + at + 6);
  {
    std::lock_guard g(v.nodes_lock);
    v.nodes.clear();
    v.by_path.clear();
    v.nodes[FUSE_ROOT_ID] = {"/", false, 1};
    v.by_path["/"] = FUSE_ROOT_ID;
  }
  // Only our user (and root, where fuse.conf lets a user allow others; root's machine needs
  // nothing more); modes are enforced by the kernel.
  std::string opts = "fsname=cpustop,subtype=cpustop,default_permissions";
  if (geteuid() != 0 && user_allow_other()) opts += ",allow_other";
  const char* argv[] = {"cpustop", "-o", opts.c_str(), nullptr};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
  v.se = fuse_session_new(&args, &view_ops, sizeof(view_ops), &v);
  fuse_opt_free_args(&args);  // the session keeps a copy of what it parsed
  if (!v.se) {
    *why = "fuse_session_new failed";
    return -EIO;
  }
  if (fuse_session_mount(v.se, mountpoint.c_str()) != 0) {
    fuse_session_destroy(v.se);
    v.se = nullptr;
    *why = "cannot mount " + mountpoint + " (see dmesg)";
    return -EPERM;
  }
  v.mountpoint = mountpoint;
  int fd = fuse_session_fd(v.se);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  v.stop_fd = eventfd(0, EFD_CLOEXEC);
  v.stopping = false;
  // Named, as the events they record (a store's hotplug) show them.
  v.reader_thread = std::thread([&v] {
    pthread_setname_np(pthread_self(), "cpustop/fuse");
    v.reader();
  });
  v.store_thread = std::thread([&v] {
    pthread_setname_np(pthread_self(), "cpustop/fusewr");
    v.store_loop();
  });
  return 0;
}

void fuse_view::stop() {
  impl& v = *impl_;
  if (!v.se) return;
  v.stopping = true;
  fuse_session_exit(v.se);
  std::uint64_t one = 1;
  (void)!::write(v.stop_fd, &one, sizeof(one));
  // Both threads end before the unmount closes the device they reply on.
  v.reader_thread.join();
  {
    std::lock_guard g(v.stores_lock);  // the stores queued still run; then the thread ends
  }
  v.stores_cv.notify_all();
  v.store_thread.join();
  fuse_session_unmount(v.se);
  // Closing the device aborts what another mount namespace may still send.
  fuse_session_destroy(v.se);
  v.se = nullptr;
  close(v.stop_fd);
  v.stop_fd = -1;
  rmdir(v.mountpoint.c_str());
  std::lock_guard g(v.nodes_lock);
  v.nodes.clear();
  v.by_path.clear();
}

}  // namespace cpustop::host
