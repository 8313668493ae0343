// Lock-free singly linked list (include/linux/llist.h): many producers, one consumer that takes
// the whole list at once. Used for the remote wakeup list.
#pragma once

#include <atomic>

namespace cpustop {

struct llist_node {
  llist_node* next = nullptr;
};

struct llist_head {
  std::atomic<llist_node*> first{nullptr};
};

// Returns true if the list was empty before (the caller then owes the consumer a kick).
inline bool llist_add(llist_node* n, llist_head* head) {
  llist_node* first = head->first.load(std::memory_order_relaxed);
  do {
    n->next = first;
  } while (!head->first.compare_exchange_weak(first, n, std::memory_order_release,
                                              std::memory_order_relaxed));
  return first == nullptr;
}

// Takes every node, newest first.
inline llist_node* llist_del_all(llist_head* head) {
  return head->first.exchange(nullptr, std::memory_order_acquire);
}

inline bool llist_empty(const llist_head* head) {
  return head->first.load(std::memory_order_relaxed) == nullptr;
}

// Reverses a taken list into queueing order (oldest first).
inline llist_node* llist_reverse_order(llist_node* n) {
  llist_node* r = nullptr;
  while (n) {
    llist_node* next = n->next;
    n->next = r;
    r = n;
    n = next;
  }
  return r;
}

}  // namespace cpustop
