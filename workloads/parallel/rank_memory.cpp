#include "workloads/parallel/rank_memory.h"

#include "base/checked_math.h"

namespace systole {

Footprint ShardModelStates(const Footprint& s, int zero, std::uint64_t dp) {
  Footprint f;
  auto shard = [&](std::uint64_t bytes, int from_stage) {
    return zero >= from_stage ? CeilDiv(bytes, dp) : bytes;
  };
  f.weights_bytes = shard(s.weights_bytes, 3);
  f.gradients_bytes = shard(s.gradients_bytes, 2);
  f.master_weights_bytes = shard(s.master_weights_bytes, 1);
  f.optimizer_state_bytes = shard(s.optimizer_state_bytes, 1);
  f.total_bytes = f.states_bytes();
  return f;
}

}  // namespace systole
