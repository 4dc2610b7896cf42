// The core's instruction set and programs: what a kernel compiles to and the core runs.
//
// A Program holds one instruction stream per engine (tensor, vector, scalar, and each DMA
// queue). Instructions carry everything the timing model needs (shapes, bytes, memory
// regions) and no data values. Cross-engine ordering is explicit: each instruction lists
// the instructions (by global id) it must wait for, which is how hardware semaphores
// synchronise engines; the kernel API derives these from tile reads and writes. Within
// one engine, instructions execute in stream order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

#include "base/dtype.h"

namespace systole {

enum class EngineKind : std::uint8_t { kTensor, kVector, kScalar, kDma };

// Engine identity: kind plus index (DMA queue number; 0 for the others).
struct EngineId {
  EngineKind kind = EngineKind::kTensor;
  std::uint16_t index = 0;
  bool operator==(const EngineId& o) const { return kind == o.kind && index == o.index; }
};

enum class MemorySpace : std::uint8_t { kHbm, kScratchpad, kAccumulator };

// A rectangle of an on-chip memory: partitions [partition, partition + partitions) and
// bytes [offset_bytes, offset_bytes + bytes_per_partition) within each partition.
// 16 bytes: a memory has at most 4096 partitions of under 4 GiB each (the parameter
// ranges of `systole params`), and a program holds three regions per instruction.
struct OnChipRegion {
  MemorySpace space = MemorySpace::kScratchpad;
  std::uint16_t partition = 0;
  std::uint16_t partitions = 0;
  std::uint32_t offset_bytes = 0;
  std::uint32_t bytes_per_partition = 0;
  std::uint64_t bytes() const {
    return static_cast<std::uint64_t>(partitions) * bytes_per_partition;
  }
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
  kDmaLink,       // HBM -> link -> HBM: one collective step's exchange with a peer
                  // (Program::links[stationary_cols]; accumulate = reduce into local data)
};
const char* OpcodeName(Opcode op);

// Transcendental functions of the scalar (activation) engine.
// Each computes f(x * scale + bias); scale and bias are 1 and 0 unless the instruction
// names a per-partition [P x 1] (scale) or [P x 2] (scale, bias) operand (src1).
enum class ActivationFn : std::uint8_t { kIdentity, kExp, kTanh, kGelu, kSilu, kRsqrt, kSquare };
const char* ActivationName(ActivationFn fn);

// The waits of one instruction (global ids). Up to kInline ids are stored in place, as most
// instructions wait for a few, so a program of many instructions is not one heap block
// each; more go to the heap. Compares equal to a std::vector of the same ids.
class WaitList {
 public:
  using value_type = std::uint32_t;
  using size_type = std::size_t;
  using reference = std::uint32_t&;
  using const_reference = const std::uint32_t&;
  using iterator = std::uint32_t*;
  using const_iterator = const std::uint32_t*;
  static constexpr std::uint32_t kInline = 4;

  WaitList() = default;
  WaitList(std::initializer_list<std::uint32_t> ids) { assign(ids.begin(), ids.end()); }
  WaitList(const WaitList& o) { assign(o.begin(), o.end()); }
  WaitList(WaitList&& o) noexcept { Steal(o); }
  WaitList& operator=(const WaitList& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  WaitList& operator=(WaitList&& o) noexcept {
    if (this != &o) {
      Release();
      Steal(o);
    }
    return *this;
  }
  WaitList& operator=(std::initializer_list<std::uint32_t> ids) {
    assign(ids.begin(), ids.end());
    return *this;
  }
  ~WaitList() { Release(); }

  template <class It>
  void assign(It first, It last) {
    const auto n = static_cast<std::uint32_t>(std::distance(first, last));
    Reserve(n);
    std::copy(first, last, data());
    size_ = n;
  }
  void push_back(std::uint32_t id) {
    if (size_ == capacity_) Grow(size_ + 1);
    data()[size_++] = id;
  }
  void clear() { size_ = 0; }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::uint32_t* data() { return capacity_ > kInline ? heap_ : inline_; }
  const std::uint32_t* data() const { return capacity_ > kInline ? heap_ : inline_; }
  iterator begin() { return data(); }
  iterator end() { return data() + size_; }
  const_iterator begin() const { return data(); }
  const_iterator end() const { return data() + size_; }
  std::uint32_t& operator[](std::size_t i) { return data()[i]; }
  std::uint32_t operator[](std::size_t i) const { return data()[i]; }
  std::vector<std::uint32_t> ToVector() const { return {begin(), end()}; }

  friend bool operator==(const WaitList& a, const WaitList& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator!=(const WaitList& a, const WaitList& b) { return !(a == b); }
  friend bool operator==(const WaitList& a, const std::vector<std::uint32_t>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator==(const std::vector<std::uint32_t>& a, const WaitList& b) { return b == a; }
  friend bool operator!=(const WaitList& a, const std::vector<std::uint32_t>& b) {
    return !(a == b);
  }
  friend bool operator!=(const std::vector<std::uint32_t>& a, const WaitList& b) {
    return !(b == a);
  }

 private:
  void Reserve(std::uint32_t n) {
    if (n > capacity_) Grow(n);
  }
  void Grow(std::uint32_t n) {
    const std::uint32_t capacity = std::max(n, 2 * capacity_);
    auto* heap = new std::uint32_t[capacity];
    std::copy(begin(), end(), heap);
    Release();
    heap_ = heap;
    capacity_ = capacity;
  }
  void Release() {
    if (capacity_ > kInline) delete[] heap_;
    capacity_ = kInline;
  }
  void Steal(WaitList& o) {  // this holds nothing on the heap
    size_ = o.size_;
    capacity_ = o.capacity_;
    if (o.capacity_ > kInline) {
      heap_ = o.heap_;
    } else {
      std::copy(o.inline_, o.inline_ + o.size_, inline_);
    }
    o.size_ = 0;
    o.capacity_ = kInline;
  }

  std::uint32_t size_ = 0;
  std::uint32_t capacity_ = kInline;
  union {
    std::uint32_t inline_[kInline] = {};
    std::uint32_t* heap_;
  };
};

struct Instruction {
  Opcode op = Opcode::kMatmul;
  EngineId engine;
  std::uint32_t name = 0;  // index into Program::names (the kernel's label, for traces)
  Dtype dtype = Dtype::kBf16;
  ActivationFn fn = ActivationFn::kIdentity;
  bool accumulate = false;  // matmul: add into the accumulator instead of overwriting
  // Global ids this instruction must wait for. Kept beside the engine, in the first cache
  // line, as the core reads both in one pass over a program when it builds engine streams.
  WaitList waits;

  // Shapes. Matmul: contraction = partitions of both operands (<= array rows),
  // stationary_cols (<= array cols), moving_cols = elements streamed.
  // Vector/scalar: partitions x free elements. (Elements of one partition, so 32 bits.)
  std::uint32_t partitions = 0;
  std::uint32_t stationary_cols = 0;
  std::uint32_t free_elems = 0;
  std::uint32_t moving_cols = 0;

  // Memory touched (reads: src0, src1; writes: dst).
  OnChipRegion src0, src1, dst;
  HbmPattern hbm;  // DMA only
};

// A link a program's kDmaLink instructions use (models/link/link.h): this core's share of
// a chip-to-chip link or network path, per direction.
struct LinkTarget {
  double bandwidth_gbps = 0;  // GB/s
  double latency_ns = 0;      // per transfer, from the end of its data to delivery
};

struct Program {
  std::string kernel_name;
  std::vector<std::string> names;         // instruction labels
  std::vector<Instruction> instructions;  // global order = issue order in the kernel
  std::uint16_t dma_queues = 0;           // number of DMA queues used (max index + 1)
  std::uint64_t flops = 0;                // useful floating-point operations
  std::uint64_t hbm_bytes = 0;            // bytes moved to/from HBM
  std::vector<LinkTarget> links;          // targets of kDmaLink instructions
};

}  // namespace systole
