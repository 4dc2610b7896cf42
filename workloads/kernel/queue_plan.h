// How a kernel assigns its DMAs to the core's DMA queues.
#pragma once

#include <algorithm>

namespace systole {

// Loads go round-robin over one set of DMA queues, stores over the rest (at least one
// each), so prefetches never queue up behind stores that wait for the compute.
struct QueuePlan {
  QueuePlan(int total, int stores)
      : store_queues(total < 2 ? 0 : std::clamp(stores, 1, total - 1)),
        load_queues(total - store_queues) {}
  int store_queues;
  int load_queues;
  int next_load = 0;
  int next_store = 0;
  int Load() {
    const int q = next_load;
    next_load = (next_load + 1) % load_queues;
    return q;
  }
  int Store() {
    if (store_queues == 0) return Load();
    const int q = load_queues + next_store;
    next_store = (next_store + 1) % store_queues;
    return q;
  }
};

}  // namespace systole
