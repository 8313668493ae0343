#include "kernel/pid.h"

#include <vector>

namespace cpustop {

namespace {

constexpr int CHUNK = 4096;
task_struct** chunks[PID_MAX_LIMIT / CHUNK];
raw_spinlock_t pidmap_lock{0, LOCK_PIDMAP, 0};
int last_pid;
int nr_pids;
unsigned long nr_forks;

task_struct** slot(int pid, bool create) {
  task_struct**& c = chunks[pid / CHUNK];
  if (!c) {
    if (!create) return nullptr;
    c = new task_struct*[CHUNK]();
  }
  return &c[pid % CHUNK];
}

}  // namespace

void pidmap_init() {
  last_pid = 0;
  nr_pids = 0;
  nr_forks = 0;
}

void pidmap_exit() {
  for (auto& c : chunks) {
    delete[] c;
    c = nullptr;
  }
}

int alloc_pid(task_struct* p) {
  spin_irqsave_guard g(&pidmap_lock);
  if (nr_pids >= PID_MAX_LIMIT - RESERVED_PIDS) return -EAGAIN;
  int pid = last_pid;
  for (;;) {
    pid = pid + 1 >= PID_MAX_LIMIT ? RESERVED_PIDS : pid + 1;
    task_struct** s = slot(pid, true);
    if (!*s) {
      *s = p;
      break;
    }
  }
  last_pid = pid;
  nr_pids++;
  nr_forks++;
  p->pid = pid;
  return 0;
}

void free_pid(task_struct* p) {
  spin_irqsave_guard g(&pidmap_lock);
  if (task_struct** s = slot(p->pid, false); s && *s == p) {
    *s = nullptr;
    nr_pids--;
  }
}

task_struct* find_get_task_by_vpid(pid_t pid) {
  if (pid <= 0 || pid >= PID_MAX_LIMIT) return nullptr;
  spin_irqsave_guard g(&pidmap_lock);
  task_struct** s = slot(pid, false);
  task_struct* p = s ? *s : nullptr;
  if (p) get_task_struct(p);
  return p;
}

void for_each_process(const std::function<void(task_struct*)>& fn) {
  std::vector<task_struct*> tasks;
  {
    spin_irqsave_guard g(&pidmap_lock);
    tasks.reserve(static_cast<std::size_t>(nr_pids));
    for (int c = 0; c < PID_MAX_LIMIT / CHUNK; c++) {
      if (!chunks[c]) continue;
      for (int i = 0; i < CHUNK; i++) {
        if (task_struct* p = chunks[c][i]) {
          get_task_struct(p);
          tasks.push_back(p);
        }
      }
    }
  }
  for (task_struct* p : tasks) {
    fn(p);
    put_task_struct(p);
  }
}

int nr_processes() {
  spin_irqsave_guard g(&pidmap_lock);
  return nr_pids;
}

unsigned long total_forks() {
  spin_irqsave_guard g(&pidmap_lock);
  return nr_forks;
}

pid_t last_pid_nr() {
  spin_irqsave_guard g(&pidmap_lock);
  return last_pid;
}

}  // namespace cpustop
