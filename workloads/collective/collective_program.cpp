#include "workloads/collective/collective_program.h"

#include <algorithm>
#include <stdexcept>

#include "models/chip/arch_config.h"

namespace systole {

std::vector<std::uint32_t> AppendCollective(Program& program, const ArchConfig& arch,
                                            const CollectiveResult& result, std::uint64_t hbm_base,
                                            std::uint16_t first_queue, std::uint16_t queues,
                                            const std::vector<std::uint32_t>& after) {
  if (queues == 0 || first_queue + queues > arch.core.dma.queues) {
    throw std::logic_error("AppendCollective: DMA queues outside the core's");
  }
  std::vector<std::uint32_t> previous = after;
  const std::uint32_t name = static_cast<std::uint32_t>(program.names.size());
  program.names.push_back("collective");
  for (const CollectiveStep& step : result.steps) {
    if (step.send_bytes == 0) continue;
    // The step's link: the rank's share of its slowest path. A step inside one chip has no
    // link (its DMA and HBM time are simulated); it gets one that never limits.
    LinkTarget link;
    link.bandwidth_gbps =
        step.link_ns > 0 ? static_cast<double>(step.send_bytes) / step.link_ns : 1e12;
    link.latency_ns = step.latency_ns;
    const auto link_id = static_cast<std::uint32_t>(program.links.size());
    program.links.push_back(link);
    const std::uint64_t per_queue = (step.send_bytes + queues - 1) / queues;
    for (std::uint64_t rep = 0; rep < step.repeat; ++rep) {
      std::vector<std::uint32_t> ids;
      std::uint64_t offset = 0;
      for (std::uint16_t q = 0; q < queues && offset < step.send_bytes; ++q) {
        const std::uint64_t bytes = std::min(per_queue, step.send_bytes - offset);
        Instruction in;
        in.op = Opcode::kDmaLink;
        in.engine = {EngineKind::kDma, static_cast<std::uint16_t>(first_queue + q)};
        in.name = name;
        in.accumulate = step.reduce;
        in.stationary_cols = link_id;
        in.hbm = {hbm_base + offset, bytes, 1, bytes};
        in.waits.assign(previous.begin(), previous.end());
        ids.push_back(static_cast<std::uint32_t>(program.instructions.size()));
        program.instructions.push_back(std::move(in));
        program.hbm_bytes += bytes * (step.reduce ? 5 : 2);
        offset += bytes;
      }
      previous = std::move(ids);
    }
  }
  program.dma_queues = std::max<std::uint16_t>(program.dma_queues, first_queue + queues);
  return previous;
}

Program CollectiveProgram(const ArchConfig& arch, const CollectiveResult& result,
                          std::uint64_t hbm_base) {
  Program program;
  program.kernel_name = "collective";
  AppendCollective(program, arch, result, hbm_base, 0,
                   static_cast<std::uint16_t>(arch.core.dma.queues), {});
  return program;
}

}  // namespace systole
