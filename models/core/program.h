// The core's instruction set and programs: what a kernel compiles to and the core runs.
//
// A Program holds one instruction stream per engine (tensor, vector, scalar, and each DMA
// queue). Instructions carry everything the timing model needs (shapes, bytes, memory
// regions) and no data values. Cross-engine ordering is explicit: each instruction lists
// the instructions (by global id) it must wait for, which is how hardware semaphores
// synchronise engines; the kernel API derives these from tile reads and writes. Within
// one engine, instructions execute in stream order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace systole {

enum class EngineKind : std::uint8_t { kTensor, kVector, kScalar, kDma };

// Engine identity: kind plus index (DMA queue number; 0 for the others).
struct EngineId {
  EngineKind kind = EngineKind::kTensor;
  std::uint16_t index = 0;
  bool operator==(const EngineId& o) const { return kind == o.kind && index == o.index; }
};

enum class Dtype : std::uint8_t { kFp32, kBf16, kFp16, kFp8 };
inline std::uint32_t DtypeBytes(Dtype dtype) {
  switch (dtype) {
    case Dtype::kFp32:
      return 4;
    case Dtype::kBf16:
    case Dtype::kFp16:
      return 2;
    case Dtype::kFp8:
      return 1;
  }
  return 0;
}
const char* DtypeName(Dtype dtype);
Dtype ParseDtype(const std::string& text);  // "fp32", "bf16", ...; InputError otherwise

enum class MemorySpace : std::uint8_t { kHbm, kScratchpad, kAccumulator };

// A rectangle of an on-chip memory: partitions [partition, partition + partitions) and
// bytes [offset_bytes, offset_bytes + bytes_per_partition) within each partition.
struct OnChipRegion {
  MemorySpace space = MemorySpace::kScratchpad;
  std::uint32_t partition = 0;
  std::uint32_t partitions = 0;
  std::uint64_t offset_bytes = 0;
  std::uint64_t bytes_per_partition = 0;
  std::uint64_t bytes() const { return partitions * bytes_per_partition; }
};

// An HBM access pattern: `chunks` contiguous chunks of chunk_bytes, chunk i at
// address + i * stride_bytes.
struct HbmPattern {
  std::uint64_t address = 0;
  std::uint64_t chunk_bytes = 0;
  std::uint64_t chunks = 0;
  std::uint64_t stride_bytes = 0;
  std::uint64_t bytes() const { return chunk_bytes * chunks; }
};

enum class Opcode : std::uint8_t {
  kDmaLoad,       // HBM -> scratchpad
  kDmaStore,      // scratchpad -> HBM
  kMatmul,        // tensor engine: accumulator (+)= stationary^T x moving
  kVectorUnary,   // one input element-wise (copy, scale, relu, cast ...)
  kVectorBinary,  // two-input element-wise (add, mul, ...)
  kVectorReduce,  // reduction along the free dimension
  kActivation,    // scalar engine: transcendental function per element
};
const char* OpcodeName(Opcode op);

// Transcendental functions of the scalar (activation) engine.
enum class ActivationFn : std::uint8_t { kIdentity, kExp, kTanh, kGelu, kSilu, kRsqrt };
const char* ActivationName(ActivationFn fn);

struct Instruction {
  Opcode op = Opcode::kMatmul;
  EngineId engine;
  std::uint32_t name = 0;  // index into Program::names (the kernel's label, for traces)
  Dtype dtype = Dtype::kBf16;
  ActivationFn fn = ActivationFn::kIdentity;
  bool accumulate = false;  // matmul: add into the accumulator instead of overwriting

  // Shapes. Matmul: contraction = partitions of both operands (<= array rows),
  // stationary_cols (<= array cols), moving_cols = elements streamed.
  // Vector/scalar: partitions x free elements.
  std::uint32_t partitions = 0;
  std::uint64_t free_elems = 0;
  std::uint32_t stationary_cols = 0;
  std::uint64_t moving_cols = 0;

  // Memory touched (reads: src0, src1; writes: dst).
  OnChipRegion src0, src1, dst;
  HbmPattern hbm;  // DMA only

  std::vector<std::uint32_t> waits;  // global ids this instruction must wait for
};

struct Program {
  std::string kernel_name;
  std::vector<std::string> names;         // instruction labels
  std::vector<Instruction> instructions;  // global order = issue order in the kernel
  std::uint16_t dma_queues = 0;           // number of DMA queues used (max index + 1)
  std::uint64_t flops = 0;                // useful floating-point operations
  std::uint64_t hbm_bytes = 0;            // bytes moved to/from HBM
};

}  // namespace systole
