// Two oracles for the kernel builder's waits: the per-tile access lists must give every
// instruction exactly the waits of the reference algorithm (one list per memory, every
// earlier access scanned; ReferenceWaitTracking), on the reference kernels and on random
// kernels that allocate, free and reuse tiles.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "sim/config/arch_config.h"
#include "workloads/kernel/kernel_builder.h"
#include "workloads/kernel/reference_kernels.h"

namespace systole {
namespace {

void ExpectSameProgram(const Program& fast, const Program& reference, const std::string& what) {
  ASSERT_EQ(fast.instructions.size(), reference.instructions.size()) << what;
  for (std::size_t i = 0; i < fast.instructions.size(); ++i) {
    ASSERT_EQ(fast.instructions[i].waits, reference.instructions[i].waits)
        << what << ": instruction #" << i;
    ASSERT_EQ(fast.instructions[i].name, reference.instructions[i].name) << what;
  }
  EXPECT_EQ(fast.names, reference.names) << what;
  EXPECT_EQ(fast.dma_queues, reference.dma_queues) << what;
}

// Builds with the per-tile lists and with the reference algorithm and compares.
void ExpectSameWaits(const std::function<Program()>& build, const std::string& what) {
  const Program fast = build();
  Program reference;
  {
    ReferenceWaitTracking oracle;
    reference = build();
  }
  ExpectSameProgram(fast, reference, what);
}

TEST(KernelBuilderWaits, ReferenceKernelsMatchTheReferenceAlgorithm) {
  for (const char* preset : {"", "neuroncore-v2"}) {
    const ArchConfig arch = LoadArchConfig(*preset ? std::string(SYSTOLE_TEST_DATA) +
                                                         "/../../configs/arch/" + preset + ".toml"
                                                   : std::string());
    for (const char* level : {"naive", "hoist", "block", "block3", "tuned"}) {
      for (const char* epilogue :
           {"", "bias,gelu,residual", "store,relu_grad,scale", "swiglu,store,silu_grad,relu"}) {
        // The NKI tutorial's kernels take no epilogue.
        if (*epilogue && std::string(level) != "tuned") continue;
        MatmulKernelOptions o;
        o.m = 640;
        o.k = 1100;
        o.n = 1500;
        o.level = level;
        o.epilogue = ParseEpilogue(epilogue);
        ExpectSameWaits([&] { return BuildMatmulKernel(arch, o); },
                        std::string(preset) + " matmul " + level + " [" + epilogue + "]");
      }
    }
    {  // the tiling search's knobs: a batch back to back, deep output buffers, more stores
      MatmulKernelOptions o;
      o.m = 384;
      o.k = 200;
      o.n = 700;
      o.batch = 3;
      o.block_m = 4;
      o.out_buffers = 8;
      o.store_queues = 8;
      o.epilogue = ParseEpilogue("bias,store,gelu");
      ExpectSameWaits([&] { return BuildMatmulKernel(arch, o); },
                      std::string(preset) + " matmul batch 3 out_buffers 8 store_queues 8");
    }
    for (const char* kind : {"add", "gelu", "relu", "softmax", "layernorm", "rmsnorm"}) {
      ElementwiseKernelOptions o;
      o.kind = kind;
      o.rows = 1000;
      o.cols = 384;
      ExpectSameWaits([&] { return BuildElementwiseKernel(arch, o); },
                      std::string(preset) + " " + kind);
    }
  }
}

// The benchmark kernel (4096x8192x8192 bf16 on the NeuronCore-v2-class preset), naive and
// block3: about 99k and 67k instructions.
TEST(KernelBuilderWaits, BenchmarkMatmulMatchesTheReferenceAlgorithm) {
  const ArchConfig arch =
      LoadArchConfig(std::string(SYSTOLE_TEST_DATA) + "/../../configs/arch/neuroncore-v2.toml");
  for (const char* level : {"naive", "block3", "tuned"}) {
    MatmulKernelOptions o;
    o.m = 4096;
    o.k = 8192;
    o.n = 8192;
    o.level = level;
    ExpectSameWaits([&] { return BuildMatmulKernel(arch, o); }, std::string("big ") + level);
  }
}

// A random kernel over a small scratchpad and accumulator: tiles of random sizes and dtypes
// allocated, freed and reallocated on the same bytes; loads, stores, matmuls, vector and
// activation ops on random slices, on random DMA queues.
Program RandomKernel(const ArchConfig& arch, std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](std::uint64_t lo, std::uint64_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  KernelBuilder k("random", arch);
  const HbmTensor in = k.Hbm("in", 512, 512, Dtype::kBf16);
  const HbmTensor out = k.Hbm("out", 512, 512, Dtype::kBf16, /*initialised=*/false);
  bool out_written = false;
  struct Live {
    Tile tile;
    bool written = false;  // fully written
  };
  std::vector<Live> pad, acc;
  const std::uint32_t parts = 32;
  auto slice = [&](const Tile& t, std::uint64_t max_f) {
    const auto p0 = static_cast<std::uint32_t>(pick(0, t.partitions - 1));
    const auto np = static_cast<std::uint32_t>(pick(1, t.partitions - p0));
    const std::uint64_t f0 = pick(0, t.free_elems - 1);
    const std::uint64_t nf = pick(1, std::min(max_f, t.free_elems - f0));
    return t.Slice(p0, np, f0, nf);
  };
  int names = 0;
  auto label = [&] { return "op" + std::to_string(names++ % 7); };
  for (int step = 0; step < 3000; ++step) {
    const std::uint64_t what = pick(0, 99);
    if (what < 8 || pad.size() < 2) {  // allocate a scratchpad tile (free one if full)
      if (pad.size() >= 6) {
        const std::size_t i = pick(0, pad.size() - 1);
        k.Free(pad[i].tile);
        pad.erase(pad.begin() + static_cast<std::ptrdiff_t>(i));
      }
      const Dtype dt = pick(0, 1) ? Dtype::kBf16 : Dtype::kFp32;
      const auto np = static_cast<std::uint32_t>(pick(1, parts));
      const std::uint64_t nf = pick(1, 256);
      try {
        pad.push_back({k.Scratchpad("t", np, nf, dt), false});
      } catch (const InputError&) {  // no free block large enough: carry on without it
      }
    } else if (what < 12 || acc.empty()) {
      if (acc.size() >= 3) {
        const std::size_t i = pick(0, acc.size() - 1);
        k.Free(acc[i].tile);
        acc.erase(acc.begin() + static_cast<std::ptrdiff_t>(i));
      }
      const auto np = static_cast<std::uint32_t>(pick(1, parts));
      const std::uint64_t nf = pick(1, 128);
      try {
        acc.push_back({k.Accumulator("a", np, nf), false});
      } catch (const InputError&) {
      }
    } else if (acc.empty() || pad.size() < 2) {
      continue;
    } else if (what < 40) {  // load: whole tile, or a slice of a written one
      Live& t = pad[pick(0, pad.size() - 1)];
      if (t.tile.dtype != Dtype::kBf16) continue;
      const TileView v = t.written && pick(0, 1) ? slice(t.tile, 512) : t.tile.All();
      k.DmaLoad(v, Block(in, pick(0, 512 - v.np), v.np, pick(0, 512 - v.nf), v.nf), label(),
                static_cast<int>(pick(0, 3)) - 1);
      t.written = true;
    } else if (what < 50) {  // store
      Live& t = pad[pick(0, pad.size() - 1)];
      if (!t.written || t.tile.dtype != Dtype::kBf16) continue;
      const TileView v = slice(t.tile, 512);
      k.DmaStore(Block(out, pick(0, 512 - v.np), v.np, pick(0, 512 - v.nf), v.nf), v, label(),
                 static_cast<int>(pick(0, 3)) - 1);
      out_written = true;
    } else if (what < 56 && out_written) {  // reload what was stored
      Live& t = pad[pick(0, pad.size() - 1)];
      if (t.tile.dtype != Dtype::kBf16) continue;
      const TileView v = t.tile.All();
      k.DmaLoad(v, Block(out, pick(0, 512 - v.np), v.np, pick(0, 512 - v.nf), v.nf), label());
      t.written = true;
    } else if (what < 75) {  // matmul
      Live& s = pad[pick(0, pad.size() - 1)];
      Live& m = pad[pick(0, pad.size() - 1)];
      Live& a = acc[pick(0, acc.size() - 1)];
      if (!s.written || !m.written || s.tile.dtype != m.tile.dtype) continue;
      const auto kp = static_cast<std::uint32_t>(
          pick(1, std::min<std::uint64_t>(s.tile.partitions, m.tile.partitions)));
      const std::uint64_t cols =
          pick(1, std::min<std::uint64_t>(s.tile.free_elems, a.tile.partitions));
      const std::uint64_t n = pick(1, std::min(m.tile.free_elems, a.tile.free_elems));
      const bool accumulate = a.written && pick(0, 1);
      k.Matmul(a.tile.Slice(0, static_cast<std::uint32_t>(cols), 0, n),
               s.tile.Slice(0, kp, pick(0, s.tile.free_elems - cols), cols),
               m.tile.Slice(0, kp, pick(0, m.tile.free_elems - n), n), accumulate, label());
      if (cols == a.tile.partitions && n == a.tile.free_elems) a.written = true;
    } else {  // vector / activation between written tiles (either memory as source)
      std::vector<Live*> all;
      for (Live& l : pad) all.push_back(&l);
      for (Live& l : acc) all.push_back(&l);
      Live& src = *all[pick(0, all.size() - 1)];
      Live& dst = *all[pick(0, all.size() - 1)];
      if (!src.written) continue;
      const auto np = static_cast<std::uint32_t>(
          pick(1, std::min<std::uint64_t>(src.tile.partitions, dst.tile.partitions)));
      const std::uint64_t nf = pick(1, std::min(src.tile.free_elems, dst.tile.free_elems));
      const TileView sv = src.tile.Slice(0, np, pick(0, src.tile.free_elems - nf), nf);
      const bool full = np == dst.tile.partitions && nf == dst.tile.free_elems;
      const TileView dv = full ? dst.tile.All() : dst.tile.Slice(0, np, 0, nf);
      const std::uint64_t kind = pick(0, 2);
      if (kind == 0) {
        k.Vector(VectorOp::kCopy, dv, sv, label());
      } else if (kind == 1) {
        k.Activation(ActivationFn::kExp, dv, sv, label());
      } else {
        k.Vector(VectorOp::kAdd, dv, sv, src.tile.Slice(0, np, 0, 1), label());
      }
      if (full) dst.written = true;
    }
  }
  return k.Finish();
}

TEST(KernelBuilderWaits, RandomKernelsWithTileReuseMatchTheReferenceAlgorithm) {
  ArchConfig arch = LoadArchConfig("");
  arch.core.scratchpad.partition_bytes = 4096;  // small: freed bytes are reused often
  arch.core.accumulator.partition_bytes = 1024;
  for (std::uint32_t seed = 1; seed <= 40; ++seed) {
    ExpectSameWaits([&] { return RandomKernel(arch, seed); }, "seed " + std::to_string(seed));
  }
}

}  // namespace
}  // namespace systole
