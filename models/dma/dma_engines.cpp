#include "models/dma/dma_engines.h"

#include <algorithm>

namespace systole {

DmaDescriptors DescriptorsOf(const HbmPattern& hbm, const OnChipRegion& tile,
                             std::uint64_t partitions_per_engine) {
  const std::uint64_t bytes = hbm.bytes();
  const std::uint64_t partitions = std::max<std::uint64_t>(1, tile.partitions);
  const std::uint64_t engines = (tile.partition + partitions - 1) / partitions_per_engine -
                                tile.partition / partitions_per_engine + 1;
  const std::uint64_t count = std::max<std::uint64_t>(1, std::max(hbm.chunks, engines));
  return {count, (bytes + count - 1) / count};
}

double DmaEngineTimeNs(const DmaConfig& config, std::uint64_t descriptors,
                       std::uint64_t bytes_each) {
  return static_cast<double>(descriptors) *
         (config.descriptor_ns +
          static_cast<double>(bytes_each) / config.engine_bandwidth_gbps);  // GB/s = B/ns
}

namespace {
// Descriptors of a transfer that fall on an engine holding `held` of its `partitions`.
std::uint64_t Share(const DmaDescriptors& d, std::uint64_t held, std::uint64_t partitions) {
  return (d.count * held + partitions - 1) / partitions;
}
}  // namespace

double DmaTransferTimeNs(const DmaConfig& config, std::uint64_t partitions_per_engine,
                         const HbmPattern& hbm, const OnChipRegion& tile) {
  const DmaDescriptors d = DescriptorsOf(hbm, tile, partitions_per_engine);
  const std::uint64_t partitions = std::max<std::uint64_t>(1, tile.partitions);
  // The engine with the most of the transfer's partitions.
  const std::uint64_t first = tile.partition / partitions_per_engine;
  const std::uint64_t last = (tile.partition + partitions - 1) / partitions_per_engine;
  std::uint64_t most = 0;
  for (std::uint64_t e = first; e <= last; ++e) {
    const std::uint64_t lo = std::max<std::uint64_t>(tile.partition, e * partitions_per_engine);
    const std::uint64_t hi =
        std::min<std::uint64_t>(tile.partition + partitions, (e + 1) * partitions_per_engine);
    most = std::max(most, hi - lo);
  }
  return DmaEngineTimeNs(config, Share(d, most, partitions), d.bytes_each);
}

DmaEngines::DmaEngines(const DmaConfig& config, std::uint64_t scratchpad_partitions)
    : config_(config) {
  if (config.engines == 0) return;
  partitions_per_engine_ =
      std::max<std::uint64_t>(1, (scratchpad_partitions + config.engines - 1) / config.engines);
  free_at_.assign(config.engines, sc_core::SC_ZERO_TIME);
}

sc_core::sc_time DmaEngines::Transfer(const sc_core::sc_time& start, const HbmPattern& hbm,
                                      const OnChipRegion& tile, sc_core::sc_time* busy) {
  const DmaDescriptors d = DescriptorsOf(hbm, tile, partitions_per_engine_);
  const std::uint64_t partitions = std::max<std::uint64_t>(1, tile.partitions);
  const std::uint64_t ppe = partitions_per_engine_;
  const std::uint64_t first = tile.partition / ppe;
  const std::uint64_t last =
      std::min<std::uint64_t>((tile.partition + partitions - 1) / ppe, free_at_.size() - 1);
  // Parts are equal except at the ends; one time per distinct share.
  std::uint64_t cached_held = 0;
  sc_core::sc_time cached_time;
  sc_core::sc_time end = start;
  sc_core::sc_time slowest;
  for (std::uint64_t e = first; e <= last; ++e) {
    const std::uint64_t lo = std::max<std::uint64_t>(tile.partition, e * ppe);
    const std::uint64_t hi =
        e == last ? tile.partition + partitions
                  : std::min<std::uint64_t>(tile.partition + partitions, (e + 1) * ppe);
    const std::uint64_t held = hi - lo;
    if (held != cached_held) {
      cached_held = held;
      cached_time = sc_core::sc_time(
          DmaEngineTimeNs(config_, Share(d, held, partitions), d.bytes_each), sc_core::SC_NS);
    }
    const sc_core::sc_time begin = std::max(start, free_at_[e]);
    free_at_[e] = begin + cached_time;
    end = std::max(end, free_at_[e]);
    slowest = std::max(slowest, cached_time);
  }
  if (busy != nullptr) *busy = slowest;
  return end;
}

}  // namespace systole
