#include "trace/ring_buffer.h"

#include <algorithm>
#include <cstring>

#include "kernel/time/jiffies.h"

namespace cpustop {

namespace {

// The gap to the previous event that still fits an event header's time_delta.
constexpr u64 TS_DELTA_LIMIT = 1ull << TS_SHIFT;
// Room kept at the end of every page for the lost-event count a reader may find there.
constexpr u32 MISSED_COUNT_ROOM = 8;
constexpr u32 PAGE_LIMIT = BUF_PAGE_DATA_SIZE - MISSED_COUNT_ROOM;

void put_u32(unsigned char* p, u32 v) {
  std::memcpy(p, &v, 4);
}

}  // namespace

ring_buffer_per_cpu::ring_buffer_per_cpu(std::size_t nr_pages)
    : nr_pages_(std::max<std::size_t>(nr_pages, 2)),
      // Left uninitialised: a page is touched only once events reach it.
      pages_(new buffer_data_page[nr_pages_]),
      page_entries_(new u32[nr_pages_]) {
  reset();
}

void ring_buffer_per_cpu::reset() {
  head_ = tail_ = 0;
  write_stamp_ = 0;
  stats_ = {};
  page(0)->commit = 0;
  page_entries_[0] = 0;
}

void* ring_buffer_per_cpu::lock_reserve(u32 len, unsigned long* irq_flags) {
  *irq_flags = __raw_spin_lock_irqsave(&lock_);
  u32 data_len = (len + 3) & ~3u;
  bool long_form = data_len > RINGBUF_TYPE_DATA_TYPE_LEN_MAX * 4;
  u32 event_len = 4 + (long_form ? 4 : 0) + data_len;
  // The time stamp is read under the lock, so that a ring's events are in time order.
  u64 ts = std::max(arch::local_clock() - boot_clock, write_stamp_);
  u64 delta = ts - write_stamp_;

  buffer_data_page* pg = page(tail_);
  u32 used = static_cast<u32>(pg->commit);
  bool extend = used && delta >= TS_DELTA_LIMIT;
  if (used + (extend ? 8 : 0) + event_len > PAGE_LIMIT) {
    // Move to the next page; when the ring is full it is the oldest, whose events are lost.
    tail_++;
    if (tail_ - head_ == nr_pages_) {
      stats_.overrun += page_entries_[head_ % nr_pages_];
      stats_.entries -= page_entries_[head_ % nr_pages_];
      head_++;
    }
    pg = page(tail_);
    used = 0;
    extend = false;
  }
  unsigned char* p = pg->data + used;
  if (!used) {
    pg->time_stamp = ts;
    page_entries_[tail_ % nr_pages_] = 0;
    delta = 0;
  }
  if (extend) {
    put_u32(p, RINGBUF_TYPE_TIME_EXTEND | static_cast<u32>((delta & (TS_DELTA_LIMIT - 1)) << 5));
    put_u32(p + 4, static_cast<u32>(delta >> TS_SHIFT));
    p += 8;
    delta = 0;
  }
  if (long_form) {
    put_u32(p, static_cast<u32>(delta) << 5);
    put_u32(p + 4, data_len + 4);
    p += 8;
  } else {
    put_u32(p, (data_len / 4) | static_cast<u32>(delta) << 5);
    p += 4;
  }
  std::memset(p + len, 0, data_len - len);
  pg->commit = static_cast<u64>(p + data_len - pg->data);
  page_entries_[tail_ % nr_pages_]++;
  stats_.entries++;
  stats_.written++;
  write_stamp_ = ts;
  return p;
}

void ring_buffer_per_cpu::unlock_commit(unsigned long irq_flags) {
  __raw_spin_unlock_irqrestore(&lock_, irq_flags);
}

std::vector<buffer_data_page> ring_buffer_per_cpu::read_pages(ring_buffer_stats* stats) {
  std::vector<buffer_data_page> out;
  unsigned long flags = __raw_spin_lock_irqsave(&lock_);
  for (u64 seq = head_; seq <= tail_; seq++)
    if (page(seq)->commit) out.push_back(*page(seq));
  if (stats) *stats = stats_;
  u64 lost = stats_.overrun;
  __raw_spin_unlock_irqrestore(&lock_, flags);
  if (lost && !out.empty()) {
    buffer_data_page& first = out.front();
    std::memcpy(first.data + first.commit, &lost, sizeof(lost));
    first.commit |= RB_MISSED_EVENTS | RB_MISSED_STORED;
  }
  return out;
}

}  // namespace cpustop
