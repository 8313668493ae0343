// Per-CPU ring buffers in the kernel's page format (kernel/trace/ring_buffer.c), so that a
// trace.dat is the pages themselves: 4 KiB pages of a time stamp, a commit count and events, each
// event a 32-bit header (type_len:5, time_delta:27), its length and its data, 8-byte aligned (the
// kernel's RB_FORCE_8BYTE_ALIGNMENT form); a time extend before an event more than 2^27 ns after
// the previous one. The rings overwrite their oldest page when full, as
// ftrace's overwrite mode, and count the events lost with it. They know sizes, not events.
//
// A CPU's ring has one writer, that CPU with interrupts off, and its events take no lock: the
// writer publishes each event with a release store of its page's commit, and takes the ring's
// lock only to recycle the oldest page, which readers copy under the lock. The ring of the threads
// outside the CPUs has many writers, which take the lock.
#pragma once

#include <atomic>
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
  u64 entries = 0;  // events in the ring (since the last clear)
  u64 overrun = 0;  // events lost to overwriting (since the last clear)
  u64 written = 0;  // both
};

class ring_buffer_per_cpu {
 public:
  // nr_pages is rounded up to a power of two (at least 2). shared: several writers.
  ring_buffer_per_cpu(std::size_t nr_pages, bool shared);

  // Reserves an event of len data bytes at the clock's time; commit() publishes it once filled.
  // The writer has interrupts off from reserve() to commit(), and holds lock() for a shared ring.
  // len <= BUF_PAGE_DATA_SIZE / 2.
  void* reserve(u32 len);
  void commit();
  raw_spinlock_t* lock() { return &lock_; }

  // The pages holding events since the last clear, oldest first; the first carries the events
  // lost before it (if any) as the kernel's reader finds them. Any context; takes the lock.
  std::vector<buffer_data_page> read_pages(ring_buffer_stats* stats);
  // Forgets the events recorded so far (they stay in the pages, behind the clear point).
  void clear();

 private:
  void* reserve_slow(u32 len, u64 ts);
  void recycle_head();
  buffer_data_page* page(u64 seq) { return &pages_[seq & (nr_pages_ - 1)]; }
  u32& entries_of(u64 seq) { return page_entries_[seq & (nr_pages_ - 1)]; }
  static std::atomic_ref<u64> commit_of(buffer_data_page* pg) {
    return std::atomic_ref(pg->commit);
  }

  raw_spinlock_t lock_{0, LOCK_TRACE, 0};
  const std::size_t nr_pages_;
  const bool shared_;
  std::unique_ptr<buffer_data_page[]> pages_;
  std::unique_ptr<u32[]> page_entries_;  // the writer's, and the lock holder's
  // Written by the writer; head_ only under the lock.
  std::atomic<u64> head_{0};  // sequence number of the oldest page
  std::atomic<u64> tail_{0};  // of the page being written
  buffer_data_page* tail_page_;
  u32 pending_commit_ = 0;  // what commit() publishes
  u64 write_stamp_ = 0;
  // Under the lock: where the last clear left the ring, and what was lost after it.
  u64 clear_seq_ = 0;
  u32 clear_off_ = 0;
  u64 overrun_ = 0;
};

// Walks the events of a page from byte from: ts is the event's time, data and len its record,
// off where its header starts.
struct ring_buffer_event_view {
  u64 ts;
  const void* data;
  u32 len;
  u32 off;
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
    fn(ring_buffer_event_view{ts, pg.data + data, len, off});
    off = data + len;
  }
}

}  // namespace cpustop
