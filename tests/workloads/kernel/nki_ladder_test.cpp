// The NKI tutorial's matmul ladder (nki_matmul_ladder.h) on the NeuronCore-v2-class
// preset: its structure (instructions and HBM bytes, counted from the tutorial's loops)
// and its time against the tutorial's published latencies (docs/kernel-fidelity.md).
#include "workloads/kernel/nki_matmul_ladder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "base/error.h"
#include "models/core/core.h"
#include "sim/config/arch_config.h"
#include "workloads/kernel/reference_kernels.h"

namespace systole {
namespace {

ArchConfig NeuronCoreV2() {
  return LoadArchConfig(std::string(SYSTOLE_TEST_DATA) + "/../../configs/arch/neuroncore-v2.toml");
}

MatmulKernelOptions Tutorial(const char* level) {  // [4096,8192] @ [8192,8192] bf16
  MatmulKernelOptions o;
  o.m = 4096;
  o.k = 8192;
  o.n = 8192;
  o.level = level;
  return o;
}

std::uint64_t Count(const Program& p, const std::string& label) {
  std::uint64_t n = 0;
  for (const Instruction& in : p.instructions) n += p.names[in.name] == label;
  return n;
}

// 32 M tiles (128), 64 K tiles (128), 16 N tiles (512): 32768 matmuls in every rung.
TEST(NkiLadder, LoopsTilesAndDmasAreTheTutorials) {
  const ArchConfig arch = NeuronCoreV2();
  struct Expect {
    const char* level;
    std::uint64_t lhst_loads, rhs_loads, stores, vector_ops;
    std::uint64_t hbm_mib;
  };
  const Expect expects[] = {
      // tiled: 2 loads per matmul; one copy + store per (m, n) = 512.
      {"naive", 32768, 32768, 512, 512, 5184},  // 32768 x 160 KiB + 64 MiB stored
      // hoist: lhsT 32 x 64 tiles, rhs 512 x 64 tiles.
      {"hoist", 2048, 32768, 512, 512, 4224},
      // block 2 x 2: lhsT 16 M blocks x 2 x 64, rhs 16 x 8 N blocks x 2 x 64.
      {"block", 2048, 16384, 512, 512, 2176},
      // fully optimised 16 x 2 x 8: per N block (8) and K block (8): 8 rhs DMAs
      // [128 x 1024], 2 M blocks x 8 lhsT DMAs [128 x 2048]; 2 x 32 SBUF accumulations per
      // (N block, K block, M block) = 4096; packing 2 copies per M tile per N block = 512;
      // 32 stores [128 x 1024] per N block = 256. HBM: 64 x 10 MiB + 64 MiB.
      {"block3", 1024, 512, 256, 4096 + 512, 704},
  };
  for (const Expect& e : expects) {
    const Program p = BuildMatmulKernel(arch, Tutorial(e.level));
    EXPECT_EQ(Count(p, "matmul"), 32768u) << e.level;
    EXPECT_EQ(Count(p, "load_lhsT"), e.lhst_loads) << e.level;
    EXPECT_EQ(Count(p, "load_rhs"), e.rhs_loads) << e.level;
    EXPECT_EQ(Count(p, "store_C"), e.stores) << e.level;
    EXPECT_EQ(Count(p, "evacuate_acc") + Count(p, "accumulate_sbuf") + Count(p, "pack_result"),
              e.vector_ops)
        << e.level;
    EXPECT_EQ(p.hbm_bytes, e.hbm_mib << 20) << e.level;
  }
}

// Published: "NKI Matrix multiplication" tutorial, AWS Neuron SDK docs (Trn1, bf16,
// [4096,8192] @ [8192,8192]): 51.80, 42.96, 22.07, 6.97 ms. Tolerances are the errors the
// model reaches (docs/kernel-fidelity.md); no rung may beat the roofline.
TEST(NkiLadder, MatchesThePublishedLatencies) {
  const ArchConfig arch = NeuronCoreV2();
  struct Rung {
    const char* level;
    double published_ms, tolerance;
  };
  for (const Rung& r : {Rung{"naive", 51.80, 0.16}, Rung{"hoist", 42.96, 0.13},
                        Rung{"block", 22.07, 0.05}, Rung{"block3", 6.97, 0.05}}) {
    const CoreRunResult result = RunCore(arch, BuildMatmulKernel(arch, Tutorial(r.level)), {});
    const double ms = result.time_ns * 1e-6;
    EXPECT_LE(std::abs(ms / r.published_ms - 1), r.tolerance)
        << r.level << ": simulated " << ms << " ms, published " << r.published_ms;
    EXPECT_GE(result.time_ns, result.roofline_ns()) << r.level;
  }
}

TEST(NkiLadder, RefusesWhatTheTutorialKernelsCannotTake) {
  const ArchConfig arch = NeuronCoreV2();
  MatmulKernelOptions o = Tutorial("block3");
  o.epilogue = ParseEpilogue("gelu");
  EXPECT_THROW(BuildMatmulKernel(arch, o), InputError);
  // hoist keeps every K tile of an N column: 1M of K needs more than 192 KiB per partition.
  o = Tutorial("hoist");
  o.k = 1 << 20;
  try {
    BuildMatmulKernel(arch, o);
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("core.scratchpad.partition_bytes is 196608"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace systole
