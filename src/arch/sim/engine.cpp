// The simulator's scheduler: entities, the run queue, the strategies (random walk and PCT),
// virtual time and its timers, and the run's digest.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "arch/sim/sim.h"

namespace cpustop::arch::sim {

const u64 cost_ns[static_cast<int>(op::NR)] = {
    /* relax */ 20,
    /* clock */ 10,
    /* futex_wait */ 300,
    /* futex_wake */ 400,
    /* yield */ 500,
    /* ipi */ 200,
};

namespace {

// xoshiro256**, seeded through splitmix64: the only source of choices.
struct rng {
  u64 s[4];
  void seed(u64 x) {
    for (u64& w : s) {
      x += 0x9e3779b97f4a7c15ull;
      u64 z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      w = z ^ (z >> 31);
    }
  }
  static u64 rotl(u64 x, int k) { return (x << k) | (x >> (64 - k)); }
  u64 next() {
    u64 r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
  }
  u64 below(u64 n) { return static_cast<u64>((static_cast<unsigned __int128>(next()) * n) >> 64); }
};

// An indexed binary heap of entities; Before(a, b): a comes out first.
template <class Before, int entity::*Pos>
struct entity_heap {
  std::vector<entity*> v;
  bool empty() const { return v.empty(); }
  std::size_t size() const { return v.size(); }
  entity* top() const { return v.front(); }
  void place(std::size_t i, entity* e) {
    v[i] = e;
    e->*Pos = static_cast<int>(i);
  }
  void up(std::size_t i) {
    entity* e = v[i];
    while (i > 0) {
      std::size_t p = (i - 1) / 2;
      if (!Before{}(e, v[p])) break;
      place(i, v[p]);
      i = p;
    }
    place(i, e);
  }
  void down(std::size_t i) {
    entity* e = v[i];
    for (;;) {
      std::size_t c = 2 * i + 1;
      if (c >= v.size()) break;
      if (c + 1 < v.size() && Before{}(v[c + 1], v[c])) c++;
      if (!Before{}(v[c], e)) break;
      place(i, v[c]);
      i = c;
    }
    place(i, e);
  }
  void push(entity* e) {
    v.push_back(e);
    up(v.size() - 1);
  }
  void remove(entity* e) {
    std::size_t i = static_cast<std::size_t>(e->*Pos);
    entity* last = v.back();
    v.pop_back();
    e->*Pos = -1;
    if (last == e) return;
    place(i, last);
    up(i);
    down(static_cast<std::size_t>(last->*Pos));
  }
};

struct earlier {
  bool operator()(const entity* a, const entity* b) const {
    return a->t < b->t || (a->t == b->t && a->id < b->id);
  }
};
struct higher {
  bool operator()(const entity* a, const entity* b) const {
    return a->prio > b->prio || (a->prio == b->prio && a->id < b->id);
  }
};

struct timer {
  u64 when, seq;
  entity* e;
  bool operator>(const timer& o) const { return when > o.when || (when == o.when && seq > o.seq); }
};

// The last decisions, for a failure report.
struct decision {
  u64 point, t;
  unsigned id;
};
constexpr unsigned TAIL = 64;

struct machine {
  config c;
  rng r;
  std::vector<std::unique_ptr<entity>> ents;
  entity_heap<earlier, &entity::heap_t> by_time;
  entity_heap<higher, &entity::heap_p> by_prio;
  std::vector<timer> timers;  // a min-heap through std::push_heap with greater
  u64 timer_seq = 0;
  std::vector<u64> change_points;  // PCT, ascending
  std::size_t next_change = 0;
  stats st;
  decision tail[TAIL];
  bool failing = false;
};

machine* m;
void* host_boot_slots[NR_SLOTS];  // the host's slots before the simulator is configured

void digest_u64(u64 v) {
  u64 h = (m->st.digest ^ v) * 0x9e3779b97f4a7c15ull;
  m->st.digest = h ^ (h >> 29);
}

void runnable_push(entity* e) {
  e->state = state::runnable;
  m->by_time.push(e);
  if (m->c.strategy == cpustop::sim::strategy::pct) m->by_prio.push(e);
}

void runnable_remove(entity* e) {
  m->by_time.remove(e);
  if (m->c.strategy == cpustop::sim::strategy::pct) m->by_prio.remove(e);
}

// A fresh PCT priority: above every lowered one (those are < pct_depth).
u64 initial_prio() {
  return m->c.pct_depth + 1 + (m->r.next() >> 8);
}

// Fires the timers due by `now`; returns whether any woke an entity.
bool fire_timers(u64 now) {
  bool woke = false;
  while (!m->timers.empty() && m->timers.front().when <= now) {
    std::pop_heap(m->timers.begin(), m->timers.end(), std::greater<>{});
    timer tm = m->timers.back();
    m->timers.pop_back();
    entity* e = tm.e;
    if (e->state != state::blocked || e->timer_seq != tm.seq) continue;  // woken already
    if (e->wait_addr) futex_unlink(e);
    e->timed_out = true;
    e->timer_seq = 0;
    e->t = std::max(e->t, tm.when);
    runnable_push(e);
    woke = true;
  }
  return woke;
}

[[noreturn]] void entity_trampoline(void* data);

// Picks the entity to run after the current one (which may have blocked or died).
entity* pick() {
  entity* c = current;
  bool c_runs = c->state == state::running;
  u64 tmin;
  for (;;) {
    tmin = c_runs ? c->t : ~0ull;
    if (!m->by_time.empty()) tmin = std::min(tmin, m->by_time.top()->t);
    if (tmin == ~0ull) {
      // Nothing can run: time jumps to the next timer, or nothing ever happens again.
      if (m->timers.empty()) fail("deadlock: every virtual CPU and thread is blocked, no timer");
      fire_timers(m->timers.front().when);
      continue;
    }
    if (m->timers.empty() || m->timers.front().when > tmin || !fire_timers(tmin)) break;
  }
  if (tmin > m->c.time_limit_ns)
    fail("liveness: virtual time passed the bound of " + std::to_string(m->c.time_limit_ns) +
         " ns");
  entity* n;
  if (m->c.strategy == cpustop::sim::strategy::pct) {
    if (m->next_change < m->change_points.size() &&
        m->st.points >= m->change_points[m->next_change]) {
      if (c_runs) c->prio = m->c.pct_depth - 1 - m->next_change;  // the running one drops
      m->next_change++;
    }
    n = c_runs ? c : nullptr;
    if (!m->by_prio.empty() && (!n || higher{}(m->by_prio.top(), n))) n = m->by_prio.top();
  } else {
    std::size_t nr = m->by_time.size() + (c_runs ? 1 : 0);
    std::size_t i = m->r.below(nr);
    n = i < m->by_time.size() ? m->by_time.v[i] : c;
  }
  // Within the skew window only: a CPU too far ahead waits for the slowest one to catch up.
  if (n->t > tmin + m->c.skew_ns)
    n = (c_runs && c->t == tmin && (m->by_time.empty() || earlier{}(c, m->by_time.top())))
            ? c
            : m->by_time.top();
  return n;
}

// Switches from the current entity to n (n != current). Returns when current runs again.
void switch_to(entity* n) {
  entity* c = current;
  bool dead = c->state == state::dead;
  if (c->state == state::running) runnable_push(c);
  runnable_remove(n);
  n->state = state::running;
  m->st.switches++;
  digest_u64(static_cast<u64>(n->id) << 48 ^ n->t);
  m->tail[m->st.switches % TAIL] = {m->st.points, n->t, n->id};
  current = n;
  current_slots = n->slots;
  context_switch(&c->ctx, &n->ctx, n, dead);
}

void entity_trampoline(void* data) {
  auto* e = static_cast<entity*>(data);
  deliver_irq();
  e->main(e);
  e->state = state::dead;
  m->st.virtual_ns = std::max(m->st.virtual_ns, e->t);
  switch_to(pick());
  __builtin_trap();
}

std::string schedule_tail() {
  std::string s;
  u64 from = m->st.switches >= TAIL ? m->st.switches - TAIL + 1 : 1;
  for (u64 i = from; i <= m->st.switches; i++) {
    const decision& d = m->tail[i % TAIL];
    const entity* e = m->ents[d.id].get();
    char line[96];
    std::snprintf(line, sizeof(line), "  point %llu t=%llu -> %s%d\n",
                  static_cast<unsigned long long>(d.point), static_cast<unsigned long long>(d.t),
                  e->kind == kind::cpu    ? "cpu"
                  : e->kind == kind::host ? "host"
                                          : "clockevent",
                  e->kind == kind::cpu ? e->cpu : static_cast<int>(e->id));
    s += line;
  }
  return s;
}

cpustop::sim::failure_handler on_failure;

}  // namespace

entity* current;
void** current_slots = host_boot_slots;
std::uint64_t faults;

void ensure_init() {
  if (m) return;
  m = new machine;
  auto host = std::make_unique<entity>();
  host->kind = kind::host;
  host->state = state::running;
  for (int i = 0; i < NR_SLOTS; i++) host->slots[i] = host_boot_slots[i];
  current = host.get();
  current_slots = host->slots;
  m->ents.push_back(std::move(host));
  m->r.seed(m->c.seed);
}

const config& cfg() {
  ensure_init();
  return m->c;
}

void point(op o) {
  entity* c = current;
  c->t += cost_ns[static_cast<int>(o)];
  m->st.points++;
  if (m->c.stall_ppm && m->r.below(1'000'000) < m->c.stall_ppm)
    c->t += 1 + m->r.below(m->c.stall_max_ns);
  if (__builtin_expect(m->failing, 0)) return;
  entity* n = pick();
  if (n != c) switch_to(n);
  if (current->irq_pending) deliver_irq();
}

void block(std::int64_t timeout_ns) {
  entity* c = current;
  c->state = state::blocked;
  c->timed_out = false;
  if (m->failing) {
    // Reporting a failure: nothing else runs, so a wait ends at once.
    c->state = state::running;
    c->timed_out = true;
    return;
  }
  if (timeout_ns >= 0) {
    c->timer_seq = ++m->timer_seq;
    m->timers.push_back({c->t + static_cast<u64>(timeout_ns), c->timer_seq, c});
    std::push_heap(m->timers.begin(), m->timers.end(), std::greater<>{});
  } else {
    c->timer_seq = 0;
  }
  entity* n = pick();
  if (n == c) {
    // Nothing else could run and time jumped to this entity's own timeout.
    runnable_remove(c);
    c->state = state::running;
  } else {
    switch_to(n);
  }
  if (current->irq_pending) deliver_irq();
}

void wake(entity* e) {
  e->timer_seq = 0;
  e->t = std::max(e->t, current->t + wake_latency_ns);
  runnable_push(e);
}

entity* spawn(sim::kind k, int cpu, void (*main)(entity*)) {
  ensure_init();
  auto e = std::make_unique<entity>();
  e->id = static_cast<unsigned>(m->ents.size());
  e->kind = k;
  e->cpu = cpu;
  e->t = current->t;
  e->main = main;
  e->prio = initial_prio();
  if (int err = stack_alloc(256 * 1024, &e->stk))
    fail("sim: no memory for a stack: " + std::to_string(err));
  context_make(&e->ctx, e->stk, entity_trampoline);
  entity* p = e.get();
  m->ents.push_back(std::move(e));
  runnable_push(p);
  return p;
}

void reap(entity* e) {
  context_destroy(&e->ctx);
  stack_free(&e->stk);
}

void fail(const std::string& why) {
  ensure_init();
  if (m->failing) {
    std::fprintf(stderr, "sim: failure while reporting a failure: %s\n", why.c_str());
    std::abort();
  }
  m->failing = true;
  std::string tail = schedule_tail();
  if (on_failure) on_failure(why, tail);
  std::fprintf(stderr, "sim: FAIL: %s\nschedule tail:\n%s", why.c_str(), tail.c_str());
  std::abort();
}

u64 clock_point() {
  point(op::clock);
  return current->t;
}

void relax_point() {
  point(op::relax);
}

}  // namespace cpustop::arch::sim

namespace cpustop::sim {

namespace as = cpustop::arch::sim;

int configure(const config& c) {
  as::ensure_init();
  if (as::current != as::m->ents[0].get()) return -EPERM;
  for (auto& e : as::m->ents)
    if (e->kind != as::kind::host && e->state != as::state::dead) return -EBUSY;
  for (std::size_t i = 1; i < as::m->ents.size(); i++) as::reap(as::m->ents[i].get());
  as::m->ents.resize(1);
  as::entity* host = as::m->ents[0].get();
  host->t = 0;
  host->irq_pending = false;
  as::m->c = c;
  as::faults = c.faults;
  as::m->r.seed(c.seed);
  as::m->st = {};
  as::m->st.digest = 0xcbf29ce484222325ull;  // FNV-1a's offset basis
  as::m->timers.clear();
  as::m->timer_seq = 0;
  as::m->by_time.v.clear();
  as::m->by_prio.v.clear();
  host->prio = as::initial_prio();
  as::m->change_points.clear();
  for (unsigned i = 1; i < c.pct_depth; i++)
    as::m->change_points.push_back(1 + as::m->r.below(std::max<std::uint64_t>(c.pct_steps, 1)));
  std::sort(as::m->change_points.begin(), as::m->change_points.end());
  as::m->next_change = 0;
  return 0;
}

const config& current_config() {
  return as::cfg();
}

stats current_stats() {
  as::ensure_init();
  stats s = as::m->st;
  for (auto& e : as::m->ents) s.virtual_ns = std::max(s.virtual_ns, e->t);
  return s;
}

void digest_add(const void* data, std::size_t len) {
  as::ensure_init();
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < len; i++) {
    as::m->st.digest ^= p[i];
    as::m->st.digest *= 0x100000001b3ull;
  }
}

void cpu_work(std::uint64_t ns) {
  as::ensure_init();
  as::current->t += ns;
  as::point(as::op::relax);
}

std::uint64_t local_time() {
  as::ensure_init();
  return as::current->t;
}

void set_failure_handler(failure_handler h) {
  as::on_failure = h;
}

void fail(const std::string& why) {
  as::fail(why);
}

}  // namespace cpustop::sim
