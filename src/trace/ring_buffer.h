// Per-CPU ring buffers in the kernel's page format (kernel/trace/ring_buffer.c), so that a
// trace.dat is the pages themselves: 4 KiB pages of a time stamp, a commit count and events, each
// event a 32-bit header (type_len:5, time_delta:27) and its data; a time extend before an event
// more than 2^27 ns after the previous one. The rings overwrite their oldest page when full, as
// ftrace's overwrite mode, and count the events lost with it. They know sizes, not events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernel/locking/spinlock.h"

namespace cpustop {

inline constexpr std::size_t BUF_PAGE_SIZE = 4096;
inline constexpr std::size_t BUF_PAGE_HDR_SIZE = 16;  // time_stamp, commit
inline constexpr std::size_t BUF_PAGE_DATA_SIZE = BUF_PAGE_SIZE - BUF_PAGE_HDR_SIZE;

// commit's flags: events were lost before this page; their count follows the data.
inline constexpr u64 RB_MISSED_EVENTS = 1ull << 31;
inline constexpr u64 RB_MISSED_STORED = 1ull << 30;
inline constexpr u64 RB_COMMIT_MASK = (1ull << 27) - 1;

enum : u32 {
  RINGBUF_TYPE_DATA_TYPE_LEN_MAX = 28,
  RINGBUF_TYPE_PADDING = 29,
  RINGBUF_TYPE_TIME_EXTEND = 30,
  RINGBUF_TYPE_TIME_STAMP = 31,
};
inline constexpr u32 TS_SHIFT = 27;

struct buffer_data_page {
  u64 time_stamp;
  u64 commit;
  unsigned char data[BUF_PAGE_DATA_SIZE];
};
static_assert(sizeof(buffer_data_page) == BUF_PAGE_SIZE);

struct ring_buffer_stats {
  u64 entries = 0;  // events in the ring now
  u64 overrun = 0;  // events lost to overwriting
  u64 written = 0;  // events ever written
};

class ring_buffer_per_cpu {
 public:
  explicit ring_buffer_per_cpu(std::size_t nr_pages);

  // Reserves an event of len data bytes at the clock's time: the ring stays locked, with this
  // CPU's interrupts off, until unlock_commit(). Any context. len <= BUF_PAGE_DATA_SIZE / 2.
  void* lock_reserve(u32 len, unsigned long* irq_flags);
  void unlock_commit(unsigned long irq_flags);

  // The pages holding events, oldest first; the first carries the lost events (if any) as the
  // kernel's reader finds them. Takes the ring's lock for the copy.
  std::vector<buffer_data_page> read_pages(ring_buffer_stats* stats);
  void reset();

 private:
  buffer_data_page* page(u64 seq) { return &pages_[seq % nr_pages_]; }

  raw_spinlock_t lock_{0, LOCK_TRACE, 0};
  std::size_t nr_pages_;
  std::unique_ptr<buffer_data_page[]> pages_;
  std::unique_ptr<u32[]> page_entries_;
  u64 head_ = 0;  // sequence number of the oldest page
  u64 tail_ = 0;  // of the page being written
  u64 write_stamp_ = 0;
  ring_buffer_stats stats_;
};

// Walks the events of a page: ts is the event's time, data and len its record.
struct ring_buffer_event_view {
  u64 ts;
  const void* data;
  u32 len;
};
template <class F>
void ring_buffer_page_for_each(const buffer_data_page& pg, F&& fn) {
  u64 ts = pg.time_stamp;
  u32 size = static_cast<u32>(pg.commit & RB_COMMIT_MASK);
  for (u32 off = 0; off + 4 <= size;) {
    u32 hdr;
    __builtin_memcpy(&hdr, pg.data + off, 4);
    u32 type_len = hdr & 0x1f, delta = hdr >> 5;
    u32 arg = 0;
    if (off + 8 <= size) __builtin_memcpy(&arg, pg.data + off + 4, 4);
    if (type_len == RINGBUF_TYPE_PADDING) break;
    if (type_len == RINGBUF_TYPE_TIME_EXTEND || type_len == RINGBUF_TYPE_TIME_STAMP) {
      u64 t = (static_cast<u64>(arg) << TS_SHIFT) + delta;
      ts = type_len == RINGBUF_TYPE_TIME_STAMP ? t : ts + t;
      off += 8;
      continue;
    }
    ts += delta;
    u32 len = type_len ? type_len * 4 : ((arg - 4 + 3) & ~3u);
    u32 data = off + (type_len ? 4 : 8);
    if (data + len > size) break;
    fn(ring_buffer_event_view{ts, pg.data + data, len});
    off = data + len;
  }
}

}  // namespace cpustop
