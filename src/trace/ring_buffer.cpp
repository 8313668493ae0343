#include "trace/ring_buffer.h"

#include <algorithm>
#include <bit>
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
void put_u64(unsigned char* p, u64 v) {
  std::memcpy(p, &v, 8);
}

// Every event in the long form, as the kernel's rings with RB_FORCE_8BYTE_ALIGNMENT: type_len 0
// and the length in array[0], the data rounded to 8 bytes. Each record then starts 8-byte aligned
// (pages, headers, time extends and data are all multiples of 8), so that its u64 and pointer
// fields are read and written where the compiler may assume them to be.
constexpr u32 RB_EVNT_HDR_SIZE = 8;
constexpr u32 rb_data_len(u32 len) {
  return (len + 7) & ~7u;
}
void put_event_header(unsigned char* p, u64 delta, u32 data_len) {
  put_u32(p, static_cast<u32>(delta) << 5);
  put_u32(p + 4, data_len + 4);  // array[0] counts itself, as the kernel's
}

u32 events_from(const buffer_data_page& pg, u32 from) {
  u32 n = 0;
  ring_buffer_page_for_each(pg, [&](const ring_buffer_event_view& ev) { n += ev.off >= from; });
  return n;
}

}  // namespace

ring_buffer_per_cpu::ring_buffer_per_cpu(std::size_t nr_pages, bool shared)
    : nr_pages_(std::bit_ceil(std::max<std::size_t>(nr_pages, 2))),
      shared_(shared),
      // Left uninitialised: a page is touched only once events reach it.
      pages_(new buffer_data_page[nr_pages_]),
      page_entries_(new u32[nr_pages_]),
      tail_page_(page(0)) {
  tail_page_->commit = 0;
  entries_of(0) = 0;
}

void* ring_buffer_per_cpu::reserve(u32 len) {
  u32 data_len = rb_data_len(len);
  // The time stamp is read with interrupts off, so that a ring's events are in time order.
  u64 ts = std::max(arch::local_clock() - boot_clock, write_stamp_);
  u64 delta = ts - write_stamp_;
  auto used = static_cast<u32>(tail_page_->commit);  // only the writer changes it
  if (unlikely(!used || used + RB_EVNT_HDR_SIZE + data_len > PAGE_LIMIT || delta >= TS_DELTA_LIMIT))
    return reserve_slow(len, ts);
  unsigned char* p = tail_page_->data + used;
  put_event_header(p, delta, data_len);
  p += RB_EVNT_HDR_SIZE;
  if (data_len != len) put_u64(p + data_len - 8, 0);  // the padding; the record comes over it
  pending_commit_ = used + RB_EVNT_HDR_SIZE + data_len;
  entries_of(tail_.load(std::memory_order_relaxed))++;
  write_stamp_ = ts;
  return p;
}

void ring_buffer_per_cpu::commit() {
  commit_of(tail_page_).store(pending_commit_, std::memory_order_release);
}

// A new page, a time extend or a long record.
void* ring_buffer_per_cpu::reserve_slow(u32 len, u64 ts) {
  u32 data_len = rb_data_len(len);
  u32 event_len = RB_EVNT_HDR_SIZE + data_len;
  u64 delta = ts - write_stamp_;
  u64 tail = tail_.load(std::memory_order_relaxed);
  buffer_data_page* pg = tail_page_;
  auto used = static_cast<u32>(pg->commit);
  bool extend = used && delta >= TS_DELTA_LIMIT;
  if (used + (extend ? 8 : 0) + event_len > PAGE_LIMIT) {
    // The next page; when the ring is full it is the oldest, whose events are lost. Until tail_
    // names it no reader looks at it.
    tail++;
    if (tail - head_.load(std::memory_order_relaxed) == nr_pages_) recycle_head();
    pg = tail_page_ = page(tail);
    commit_of(pg).store(0, std::memory_order_relaxed);
    tail_.store(tail, std::memory_order_release);
    used = 0;
    extend = false;
  }
  unsigned char* p = pg->data + used;
  if (!used) {
    pg->time_stamp = ts;
    entries_of(tail) = 0;
    delta = 0;
  }
  if (extend) {
    put_u32(p, RINGBUF_TYPE_TIME_EXTEND | static_cast<u32>((delta & (TS_DELTA_LIMIT - 1)) << 5));
    put_u32(p + 4, static_cast<u32>(delta >> TS_SHIFT));
    p += 8;
    delta = 0;
  }
  put_event_header(p, delta, data_len);
  p += RB_EVNT_HDR_SIZE;
  if (data_len != len) put_u64(p + data_len - 8, 0);
  pending_commit_ = static_cast<u32>(p + data_len - pg->data);
  entries_of(tail)++;
  write_stamp_ = ts;
  return p;
}

// Drops the oldest page, under the lock: no reader is copying it.
void ring_buffer_per_cpu::recycle_head() {
  if (!shared_) {
    lockdep_acquire(&lock_);
    do_raw_spin_lock(&lock_);
  }
  u64 head = head_.load(std::memory_order_relaxed);
  if (head > clear_seq_)
    overrun_ += entries_of(head);
  else if (head == clear_seq_)
    overrun_ += events_from(*page(head), clear_off_);
  head_.store(head + 1, std::memory_order_release);
  if (!shared_) {
    lockdep_release(&lock_);
    do_raw_spin_unlock(&lock_);
  }
}

void ring_buffer_per_cpu::clear() {
  unsigned long flags = __raw_spin_lock_irqsave(&lock_);
  clear_seq_ = tail_.load(std::memory_order_acquire);
  clear_off_ = static_cast<u32>(commit_of(page(clear_seq_)).load(std::memory_order_acquire));
  overrun_ = 0;
  __raw_spin_unlock_irqrestore(&lock_, flags);
}

std::vector<buffer_data_page> ring_buffer_per_cpu::read_pages(ring_buffer_stats* stats) {
  std::vector<buffer_data_page> out;
  unsigned long flags = __raw_spin_lock_irqsave(&lock_);
  u64 tail = tail_.load(std::memory_order_acquire);
  u64 lost = overrun_;
  for (u64 seq = std::max(head_.load(std::memory_order_relaxed), clear_seq_); seq <= tail; seq++) {
    buffer_data_page* pg = page(seq);
    auto size = static_cast<u32>(commit_of(pg).load(std::memory_order_acquire));
    u32 from = seq == clear_seq_ ? clear_off_ : 0;
    if (size <= from) continue;
    buffer_data_page& copy = out.emplace_back();
    copy.time_stamp = pg->time_stamp;
    copy.commit = size;
    std::memcpy(copy.data, pg->data, size);
    if (!from) continue;
    // The page the last clear cut in two starts at its first event after the clear (an event,
    // or the time extend before one, starts at from), timed from the last one before it.
    ring_buffer_page_for_each(copy, [&](const ring_buffer_event_view& ev) {
      if (ev.off < from) copy.time_stamp = ev.ts;
    });
    std::memmove(copy.data, copy.data + from, size - from);
    copy.commit = size - from;
  }
  __raw_spin_unlock_irqrestore(&lock_, flags);

  u64 entries = 0;
  for (const buffer_data_page& pg : out) entries += events_from(pg, 0);
  if (stats) *stats = {entries, lost, entries + lost};
  if (lost && !out.empty()) {
    buffer_data_page& first = out.front();
    std::memcpy(first.data + first.commit, &lost, sizeof(lost));
    first.commit |= RB_MISSED_EVENTS | RB_MISSED_STORED;
  }
  return out;
}

}  // namespace cpustop
