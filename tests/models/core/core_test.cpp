// Closed-form checks of every engine of the core on isolated instructions, and of how
// instructions overlap. Clocks are set to 1 GHz so that 1 cycle = 1 ns.
#include "models/core/core.h"

#include <gtest/gtest.h>

#include <random>

#include "models/dma/dma_queue.h"
#include "models/tensor_engine/systolic_timing.h"
#include "sim/config/arch_config.h"

namespace systole {
namespace {

ArchConfig OneGhz(std::vector<std::string> extra = {}) {
  std::vector<std::string> p = {"core.clock_ghz=1", "core.vector.clock_ghz=1",
                                "core.scalar.clock_ghz=1"};
  p.insert(p.end(), extra.begin(), extra.end());
  return LoadArchConfig("", p);
}

OnChipRegion Sbuf(std::uint16_t partitions, std::uint32_t offset, std::uint32_t bytes) {
  return {MemorySpace::kScratchpad, 0, partitions, offset, bytes};
}
OnChipRegion Psum(std::uint16_t partitions, std::uint32_t offset, std::uint32_t bytes) {
  return {MemorySpace::kAccumulator, 0, partitions, offset, bytes};
}

Instruction Matmul(std::uint32_t k, std::uint32_t s, std::uint64_t t, std::uint64_t acc_offset = 0,
                   Dtype dtype = Dtype::kBf16) {
  Instruction in;
  in.op = Opcode::kMatmul;
  in.engine = {EngineKind::kTensor, 0};
  in.dtype = dtype;
  in.partitions = k;
  in.stationary_cols = s;
  in.moving_cols = t;
  in.src0 = Sbuf(k, 0, s * 2);
  in.src1 = Sbuf(k, 4096, t * 2);
  in.dst = Psum(s, acc_offset, t * 4);
  return in;
}

Program Of(std::vector<Instruction> instrs) {
  Program p;
  p.kernel_name = "test";
  p.names = {"op"};
  p.instructions = std::move(instrs);
  for (const Instruction& in : p.instructions) {
    if (in.engine.kind == EngineKind::kDma) {
      p.dma_queues = std::max<std::uint16_t>(p.dma_queues, in.engine.index + 1);
    }
  }
  return p;
}

double RunNs(const ArchConfig& arch, std::vector<Instruction> instrs) {
  return RunCore(arch, Of(std::move(instrs)), {}).time_ns;
}

TEST(CoreTensor, IsolatedMatmulEqualsFoldFormula) {
  // load 128 + stream 512 + fill (128-1)+(128-1) = 894 cycles.
  EXPECT_DOUBLE_EQ(RunNs(OneGhz(), {Matmul(128, 128, 512)}), 894.0);
  // The same instruction through the foundation's tile formula, over random shapes.
  std::mt19937 rng(3);
  for (int i = 0; i < 20; ++i) {
    const std::uint32_t k = 1 + rng() % 128, s = 1 + rng() % 128;
    const std::uint64_t t = 16 + rng() % 2000;  // >= min_issue_cycles (16)
    const FoldTiming f = TimeFold(Dataflow::kWeightStationary, {128, 128}, t, k, s);
    EXPECT_DOUBLE_EQ(RunNs(OneGhz(), {Matmul(k, s, t)}), static_cast<double>(f.total_cycles()))
        << k << " " << s << " " << t;
  }
}

TEST(CoreTensor, BackToBackMatmulsPipeline) {
  // Double-buffered weights: loads hide under streams.
  // load 128 + 3 streams of 512 + fill 254 = 1918.
  EXPECT_DOUBLE_EQ(RunNs(OneGhz(), {Matmul(128, 128, 512, 0), Matmul(128, 128, 512, 2048),
                                    Matmul(128, 128, 512, 4096)}),
                   1918.0);
  // Without: each load waits for the previous stream: 3 x (128 + 512) + 254 = 2174.
  EXPECT_DOUBLE_EQ(
      RunNs(OneGhz({"core.tensor.weight_double_buffer=false"}),
            {Matmul(128, 128, 512, 0), Matmul(128, 128, 512, 2048), Matmul(128, 128, 512, 4096)}),
      2174.0);
}

TEST(CoreTensor, MinimumIssueIntervalAndDtypes) {
  // T = 8 < min_issue_cycles 16: stream 16; load 128 + 16 + fill 254 = 398.
  EXPECT_DOUBLE_EQ(RunNs(OneGhz(), {Matmul(128, 128, 8)}), 398.0);
  // fp32 streams 4x slower: 128 + 4*512 + 254 = 2430.
  EXPECT_DOUBLE_EQ(RunNs(OneGhz(), {Matmul(128, 128, 512, 0, Dtype::kFp32)}), 2430.0);
  // fp8 at 2x: 128 + 256 + 254 = 638.
  EXPECT_DOUBLE_EQ(
      RunNs(OneGhz({"core.tensor.fp8_rate_multiplier=2"}), {Matmul(128, 128, 512, 0, Dtype::kFp8)}),
      638.0);
}

Instruction VectorOp(Opcode op, std::uint32_t p, std::uint64_t f, bool broadcast = false) {
  Instruction in;
  in.op = op;
  in.engine = {op == Opcode::kActivation ? EngineKind::kScalar : EngineKind::kVector, 0};
  in.partitions = p;
  in.free_elems = f;
  in.src0 = Sbuf(p, 0, f * 2);
  if (op == Opcode::kVectorBinary) in.src1 = Sbuf(p, 8192, broadcast ? 4 : f * 2);
  in.dst = Sbuf(p, 16384, op == Opcode::kVectorReduce ? 4 : f * 2);
  return in;
}

TEST(CoreVector, IsolatedOpsMatchClosedForm) {
  const ArchConfig a = OneGhz();
  // fixed 64 + 1024 elements at 1 per lane-cycle = 1088.
  EXPECT_DOUBLE_EQ(RunNs(a, {VectorOp(Opcode::kVectorUnary, 128, 1024)}), 1088.0);
  // two full inputs: 64 + 2 * 1024 = 2112; broadcast second input: 64 + 1024.
  EXPECT_DOUBLE_EQ(RunNs(a, {VectorOp(Opcode::kVectorBinary, 128, 1024)}), 2112.0);
  EXPECT_DOUBLE_EQ(RunNs(a, {VectorOp(Opcode::kVectorBinary, 128, 1024, true)}), 1088.0);
  // reduction: one input pass, 64 + 1024.
  EXPECT_DOUBLE_EQ(RunNs(a, {VectorOp(Opcode::kVectorReduce, 128, 1024)}), 1088.0);
  // Small op: the memory access (60 overhead + 1 cycle) is hidden by the fixed 64:
  // 64 + 16 = 80.
  EXPECT_DOUBLE_EQ(RunNs(a, {VectorOp(Opcode::kVectorUnary, 128, 16)}), 80.0);
}

TEST(CoreScalar, TranscendentalCostPerFunction) {
  const ArchConfig a = OneGhz();
  Instruction gelu = VectorOp(Opcode::kActivation, 128, 1024);
  gelu.fn = ActivationFn::kGelu;  // 2 cycles/element: 64 + 2048
  EXPECT_DOUBLE_EQ(RunNs(a, {gelu}), 2112.0);
  Instruction exp = gelu;
  exp.fn = ActivationFn::kExp;  // 1 cycle/element: 64 + 1024
  EXPECT_DOUBLE_EQ(RunNs(a, {exp}), 1088.0);
  // 256 partitions on 128 lanes: two passes, 64 + 2 * 1024.
  Instruction wide = VectorOp(Opcode::kActivation, 256, 1024);
  wide.fn = ActivationFn::kExp;
  EXPECT_DOUBLE_EQ(RunNs(a, {wide}), 2112.0);
}

Instruction Dma(std::uint16_t queue, std::uint64_t chunk_bytes, std::uint64_t chunks,
                std::uint64_t offset = 0) {
  Instruction in;
  in.op = Opcode::kDmaLoad;
  in.engine = {EngineKind::kDma, queue};
  in.hbm = {offset, chunk_bytes, chunks, chunk_bytes};
  in.dst = Sbuf(128, 0, chunk_bytes * chunks / 128);
  return in;
}

TEST(CoreDma, TransferPaysSetupThenQueueBandwidth) {
  const ArchConfig a = OneGhz();
  // 1 MiB contiguous: setup 1300 ns + 1048576 B / 27 GB/s = 38836.148 ns (the HBM at
  // its peak and the scratchpad are faster, so the queue bounds the data phase).
  EXPECT_NEAR(RunNs(a, {Dma(0, 1 << 20, 1)}), 1300.0 + 1048576.0 / 27.0, 1e-3);
  EXPECT_NEAR(DmaQueueTimeNs(a.core.dma, {0, 1 << 20, 1, 0}), 1048576.0 / 27.0, 1e-9);
}

TEST(CoreDma, SmallChunksCostAsMuchAsEfficientOnes) {
  const ArchConfig a = OneGhz();
  // 128 KiB as 512 chunks of 256 B: each charged as 2048 B -> 8x the data time of one chunk.
  const double strided = RunNs(a, {Dma(0, 256, 512)});
  const double contiguous = RunNs(a, {Dma(0, 131072, 1)});
  EXPECT_NEAR(strided, 1300.0 + 512.0 * 2048.0 / 27.0, 1e-3);
  EXPECT_NEAR(contiguous, 1300.0 + 131072.0 / 27.0, 1e-3);
  EXPECT_GT(strided / contiguous, 5.0);
}

TEST(CoreDma, QueueOverlapsSetupWithPreviousData) {
  const ArchConfig a = OneGhz();
  // Two 1 MiB transfers on one queue: setup of the second hides under the first's data:
  // 1300 + 2 x 38836.148.
  EXPECT_NEAR(RunNs(a, {Dma(0, 1 << 20, 1), Dma(0, 1 << 20, 1, 1 << 20)}),
              1300.0 + 2.0 * 1048576.0 / 27.0, 1e-3);
  // On two queues they run in parallel: 1300 + 38836.148.
  EXPECT_NEAR(RunNs(a, {Dma(0, 1 << 20, 1), Dma(1, 1 << 20, 1, 1 << 20)}),
              1300.0 + 1048576.0 / 27.0, 1e-3);
}

TEST(CoreSync, WaitsOrderEnginesAndOverlapOtherwise) {
  const ArchConfig a = OneGhz();
  Instruction load = Dma(0, 131072, 1);  // 1300 + 4854.52 ns
  Instruction mm = Matmul(128, 128, 512);
  mm.waits = {0};
  const double load_ns = 1300.0 + 131072.0 / 27.0;
  // matmul after the load: load + 894.
  EXPECT_NEAR(RunNs(a, {load, mm}), load_ns + 894.0, 1e-3);
  // without the wait they overlap: max(load, 894).
  mm.waits.clear();
  EXPECT_NEAR(RunNs(a, {load, mm}), load_ns, 1e-3);
}

TEST(CoreRun, DeterministicAndRecordsEveryInstruction) {
  const ArchConfig a = OneGhz();
  std::vector<Instruction> prog = {Dma(0, 65536, 1), Matmul(128, 128, 512),
                                   VectorOp(Opcode::kVectorUnary, 128, 512)};
  prog[1].waits = {0};
  prog[2].waits = {1};
  CoreRunOptions opt;
  opt.record_trace = true;
  const CoreRunResult r1 = RunCore(a, Of(prog), opt);
  const CoreRunResult r2 = RunCore(a, Of(prog), opt);
  ASSERT_EQ(r1.slices.size(), 3u);
  EXPECT_EQ(r1.time_ns, r2.time_ns);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r1.slices[i].start_ns, r2.slices[i].start_ns);
    EXPECT_EQ(r1.slices[i].end_ns, r2.slices[i].end_ns);
  }
}

}  // namespace
}  // namespace systole

namespace systole {
namespace {

TEST(CoreContention, EnginesShareScratchpadBandwidth) {
  // 1 byte/cycle/partition: a 128 x 1024 bf16 tile (2048 B per partition) takes 2048
  // cycles to read and 2048 to write; one bank, so accesses serialise.
  const ArchConfig a = OneGhz({"core.scratchpad.bytes_per_cycle_per_partition=1"});
  Instruction v = VectorOp(Opcode::kVectorUnary, 128, 1024);
  // Alone: read [0, 2048), write [2048, 4096), + 60 access overhead = 4156 (> compute 1088).
  EXPECT_DOUBLE_EQ(RunNs(a, {v}), 4156.0);
  // With the scalar engine doing the same at the same time, the second op's accesses
  // queue behind the first's: read [4096, 6144), write [6144, 8192), + 60 = 8252.
  Instruction s = VectorOp(Opcode::kActivation, 128, 1024);
  s.src0.offset_bytes = 32768;
  s.dst.offset_bytes = 65536;
  EXPECT_DOUBLE_EQ(RunNs(a, {v, s}), 8252.0);
}

TEST(CoreContention, DmaQueuesShareHbmBandwidth) {
  // HBM at 0.4 Gb/s/pin: 32 pseudo-channels x 64 bit x 0.4 / 8 = 102.4 GB/s, far below
  // 16 queues x 27 GB/s. 16 transfers of 1 MiB on 16 queues take the HBM's time:
  // setup 1300 + 16 MiB / 102.4 GB/s (163840 ns) + HBM latency (tRCD + tCL = 28 ns).
  const ArchConfig a = OneGhz({"hbm.data_rate_gbps=0.4"});
  std::vector<Instruction> prog;
  for (std::uint16_t q = 0; q < 16; ++q) prog.push_back(Dma(q, 1 << 20, 1, q * (1ull << 20)));
  EXPECT_NEAR(RunNs(a, prog), 1300.0 + 16.0 * 1048576.0 / 102.4 + 28.0, 1e-3);
  // The banked HBM model is no faster than its peak either.
  CoreRunOptions banked;
  banked.hbm = HbmFidelity::kBanked;
  EXPECT_GE(RunCore(a, Of(prog), banked).time_ns, 1300.0 + 16.0 * 1048576.0 / 102.4);
}

}  // namespace
}  // namespace systole
