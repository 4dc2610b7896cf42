// The tile-kernel API: write a kernel as ordinary C++ and get a core Program.
//
// A kernel allocates scratchpad and accumulator tiles, declares HBM tensors, and issues
// DMA loads/stores, matmuls, vector and scalar (activation) ops inside ordinary loops.
// KernelBuilder records one instruction per call, assigns it to its engine (DMA queues
// round-robin unless one is given), and derives the cross-engine waits from the tile
// regions each instruction reads and writes (read-after-write, write-after-read,
// write-after-write), exactly as semaphores would order them. Instructions on the same
// engine are ordered by the engine itself and get no waits.
//
// Checks (InputError naming the instruction "#<index> <op> '<label>'" or the allocation):
//   capacity overflow of the scratchpad/accumulator, out-of-bounds slices, reading a tile
//   region nothing has written, dtype mismatches, shapes the tensor engine cannot take
//   (contraction > array rows, stationary columns > array columns, accumulator shape).
//
// Layout conventions (as on NeuronCore-class engines): a tile is partitions x free
// elements; a matmul contracts over the partition dimension:
//   acc[S, T] (+)= stationary[K, S]^T x moving[K, T],  K <= rows, S <= cols.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/chip/arch_config.h"
#include "models/core/program.h"
#include "workloads/kernel/written_region.h"

namespace systole {

class KernelBuilder;

// Names an instruction in error messages ("kernel 'k' instruction #3 matmul 'label'");
// formatted only when an error is raised.
struct InstrSite {
  const std::string* kernel;
  std::uint32_t id;
  Opcode op;
  const std::string* label;
  std::string str() const;
};

// A rectangle of a tile: partitions [p0, p0+np) x free elements [f0, f0+nf).
struct TileView {
  std::uint32_t tile = 0;
  std::uint32_t p0 = 0, np = 0;
  std::uint64_t f0 = 0, nf = 0;
};

struct Tile {
  std::uint32_t id = 0;
  std::uint32_t partitions = 0;
  std::uint64_t free_elems = 0;
  Dtype dtype = Dtype::kBf16;
  MemorySpace space = MemorySpace::kScratchpad;
  TileView All() const { return {id, 0, partitions, 0, free_elems}; }
  // Bounds are checked when the view is used in an instruction.
  TileView Slice(std::uint32_t p0, std::uint32_t np, std::uint64_t f0, std::uint64_t nf) const {
    return {id, p0, np, f0, nf};
  }
};

// A row-major 2-D tensor in HBM.
struct HbmTensor {
  std::uint32_t id = 0;
  std::uint64_t rows = 0, cols = 0;
  Dtype dtype = Dtype::kBf16;
  std::uint64_t address = 0;
};

// A block of an HbmTensor: rows [r0, r0+nr) x cols [c0, c0+nc).
struct HbmView {
  std::uint32_t tensor = 0;
  std::uint64_t r0 = 0, nr = 0, c0 = 0, nc = 0;
};
inline HbmView Block(const HbmTensor& t, std::uint64_t r0, std::uint64_t nr, std::uint64_t c0,
                     std::uint64_t nc) {
  return {t.id, r0, nr, c0, nc};
}

// Unary: kCopy (also casts), kScale (by a constant), kRelu, kReciprocal.
// Binary (second source may be P x 1, broadcast along the free dimension): kAdd, kSub,
// kMul, kMax, kDiv. Reductions along the free dimension (destination P x 1): kReduceSum,
// kReduceMax.
enum class VectorOp {
  kCopy,
  kScale,
  kRelu,
  kReciprocal,
  kAdd,
  kSub,
  kMul,
  kMax,
  kDiv,
  kReduceSum,
  kReduceMax
};

// Test and debug oracle: while one of these lives, KernelBuilders constructed on the same
// thread derive waits with the original algorithm (one access list per memory, every
// access scanned), which the per-tile lists must match wait for wait.
class ReferenceWaitTracking {
 public:
  ReferenceWaitTracking();
  ~ReferenceWaitTracking();
  ReferenceWaitTracking(const ReferenceWaitTracking&) = delete;
  ReferenceWaitTracking& operator=(const ReferenceWaitTracking&) = delete;

 private:
  bool previous_;
};

class KernelBuilder {
 public:
  // HBM tensors are placed from hbm_base on (bytes), so kernels of different cores can
  // use disjoint address ranges of a shared HBM.
  KernelBuilder(std::string kernel_name, const ArchConfig& arch, std::uint64_t hbm_base = 0);

  HbmTensor Hbm(const std::string& name, std::uint64_t rows, std::uint64_t cols, Dtype dtype,
                bool initialised = true);
  Tile Scratchpad(const std::string& name, std::uint32_t partitions, std::uint64_t free_elems,
                  Dtype dtype);
  Tile Accumulator(const std::string& name, std::uint32_t partitions, std::uint64_t free_elems);
  void Free(const Tile& tile);

  // Each returns the instruction's global id. queue < 0: round-robin over the DMA queues.
  // A load into a tile of P partitions x F elements takes a block of P rows x F columns.
  std::uint32_t DmaLoad(const TileView& dst, const HbmView& src, const std::string& label,
                        int queue = -1);
  std::uint32_t DmaStore(const HbmView& dst, const TileView& src, const std::string& label,
                         int queue = -1);
  std::uint32_t Matmul(const TileView& acc, const TileView& stationary, const TileView& moving,
                       bool accumulate, const std::string& label);
  std::uint32_t Vector(VectorOp op, const TileView& dst, const TileView& src,
                       const std::string& label);
  std::uint32_t Vector(VectorOp op, const TileView& dst, const TileView& a, const TileView& b,
                       const std::string& label);
  std::uint32_t Activation(ActivationFn fn, const TileView& dst, const TileView& src,
                           const std::string& label);
  // dst = fn(src * scale + bias), per partition: scale_bias is [P x 1] (scale) or [P x 2]
  // (scale, bias), fp32, over the same partitions as src.
  std::uint32_t Activation(ActivationFn fn, const TileView& dst, const TileView& src,
                           const TileView& scale_bias, const std::string& label);

  // A program holds at most this many instructions (about 14 GB of them): past it a kernel
  // is rejected with an InputError rather than exhausting memory.
  static constexpr std::uint64_t kMaxInstructions = 100'000'000;
  // Capacity hint: about this many instructions will be issued (a double, as estimates of
  // huge kernels overflow integers). Throws InputError when it is over kMaxInstructions.
  void ReserveInstructions(double count);

  // Earlier HBM writes examined while deriving waits, over all tensors so far: a count that
  // grows linearly with the instructions of a kernel (tests check the scaling with it).
  std::uint64_t HbmWritesVisited() const;
  // Finishes the program; the builder must not be used afterwards.
  Program Finish();

 private:
  // One recorded access to a rectangle of a memory: partitions (HBM: rows) [p0, p0+np) x
  // bytes (HBM: columns) [b0, b0+nb).
  struct Access {
    std::uint32_t instr;
    EngineId engine;
    std::uint64_t p0, np, b0, nb;
    bool write;
    std::uint64_t synced;  // engines (bit per slot) with an instruction that waited for it
    std::uint32_t tile;    // on-chip tile id (reads of one tile by one engine are merged)
  };
  // Accesses not yet ordered behind a later covering write, for one HBM tensor (or, with
  // reference_tracking_, one whole on-chip memory; otherwise each tile keeps its own list).
  // Reads of one tile by one engine are kept as a single entry (the latest reader, over
  // the bounding box of what it read): the engine finishes its reads in order, so a later
  // writer waiting for the latest read waits for all of them. This keeps the list about
  // as long as the number of live tiles, however many instructions read them.
  // With coarse_reads (HBM tensors), reads are not kept by region: only each engine's
  // latest read, which a later write waits for (engines finish their reads in order).
  // This keeps tracking O(1) per load of an input tensor; a write to a tensor that is
  // also read may then wait longer than needed, never less.
  // With coarse_reads the list holds writes only, indexed by their top-left corner (row,
  // then byte) so that a new access visits only the writes that can overlap it: those
  // starting within max_np rows and max_nb bytes before it. Building stays linear in the
  // number of instructions however many disjoint blocks of a tensor are stored (a plain
  // list made every store scan all earlier ones: quadratic, issue 14).
  struct Tracker {
    bool coarse_reads = false;
    std::vector<Access> accesses;  // without coarse_reads
    std::map<std::uint64_t, std::map<std::uint64_t, std::vector<Access>>> writes;
    std::uint64_t max_np = 1, max_nb = 1;   // largest extents in `writes` (at least 1)
    std::uint64_t visited = 0;              // writes visited by VisitWritesNear, ever
    std::vector<std::int64_t> latest_read;  // per engine slot, -1 = none
  };
  // Calls visit(old) for every write in tracker.writes that may overlap or be covered by
  // `a`; visit returns true to remove the write.
  template <typename F>
  static void VisitWritesNear(Tracker& tracker, const Access& a, F&& visit);
  struct TileState {
    Tile tile;
    std::string name;
    std::uint64_t offset_bytes = 0;  // within each partition
    std::uint64_t size_bytes = 0;    // per partition (before alignment): what accesses span
    bool live = true;
    // Accesses to this tile not yet ordered behind a later covering write (as in Tracker;
    // they stay after the tile is freed, until a new tile's write covers them).
    std::vector<Access> accesses;
    // Freed tiles of the same memory whose bytes overlap this tile's and that still had
    // accesses when this tile was allocated: the only other lists its accesses can touch.
    std::vector<std::uint32_t> freed_overlaps;
    WrittenRegion written;  // which elements have been written (reads must be covered)
  };
  struct Allocator {
    std::uint64_t partition_bytes = 0;
    std::uint32_t partitions = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> used;  // [offset, end), sorted
  };
  struct HbmState {
    HbmTensor tensor;
    std::string name;
    bool written = false;
    Tracker tracker;
  };

  TileState& CheckView(const TileView& v, const char* what, const InstrSite& where);
  HbmState& CheckHbm(const HbmView& v, const char* what, const InstrSite& where);
  OnChipRegion Region(const TileView& v) const;
  void CheckWritten(const TileView& v, const char* what, const InstrSite& where);
  void MarkWritten(const TileView& v);
  // Both Activation forms (scale_bias null: none).
  std::uint32_t ActivationImpl(ActivationFn fn, const TileView& dst, const TileView& src,
                               const TileView* scale_bias, const std::string& label);
  // The steps of tracking one access against one access list (both algorithms):
  // ScanForWaits adds the waits `a` needs on `list` and, when merge is given, finds this
  // engine's earlier read of the same tile (into *merge, if still null); MergeRead widens
  // that read to cover `a`; ForgetOrdered drops what `a` now orders: everything it covers
  // if it writes (later accesses wait for this write, which waits for them), earlier reads
  // of the same engine it covers.
  static void ScanForWaits(std::vector<Access>& list, const Access& a, Access** merge,
                           std::vector<std::uint32_t>& waits);
  static void MergeRead(Access& old, const Access& a);
  static void ForgetOrdered(std::vector<Access>& list, const Access& a);
  // Adds the waits this access needs and records it (reference algorithm: the whole list).
  static void Track(Tracker& tracker, const Access& access, std::vector<std::uint32_t>& waits);
  // The same for an on-chip tile access, scanning only the lists of the tile and of the
  // freed tiles under it (reference_tracking_: Track on the memory's single list).
  void TrackTile(const Access& access, std::vector<std::uint32_t>& waits);
  // Tiles freed with accesses still pending, per on-chip memory (index: space == acc).
  std::vector<std::uint32_t>& FreedPending(MemorySpace space) {
    return freed_pending_[space == MemorySpace::kAccumulator ? 1 : 0];
  }
  // Records the freed tiles overlapping a newly allocated tile.
  void FindFreedOverlaps(TileState& s);
  Tracker& TrackerOf(MemorySpace space) {
    return space == MemorySpace::kAccumulator ? accumulator_tracker_ : scratchpad_tracker_;
  }
  Access OnChipAccess(const TileView& v, std::uint32_t instr, EngineId engine, bool write) const;
  // Appends the next instruction, built in place once its checks have passed (nothing may
  // throw between this and Emit).
  Instruction& NewInstruction() {
    if (program_.instructions.size() >= kMaxInstructions) TooManyInstructions(0);
    return program_.instructions.emplace_back();
  }
  [[noreturn]] void TooManyInstructions(double estimate) const;
  // Completes `in` (the last instruction): its label id, and waits_ (the scratch list the
  // instruction's Track calls filled) as its waits. Returns its id.
  std::uint32_t Emit(Instruction& in, const std::string& label);
  // Clears and returns the scratch wait list for the next instruction.
  std::vector<std::uint32_t>& NewWaits() {
    waits_.clear();
    return waits_;
  }
  std::uint64_t AllocateBytes(Allocator& alloc, std::uint64_t bytes, const std::string& name,
                              const char* memory_name);
  EngineId NextQueue(int queue, const InstrSite& where);

  ArchConfig arch_;
  Program program_;
  std::unordered_map<std::string, std::uint32_t> name_ids_;
  std::vector<std::uint32_t> waits_;  // scratch: waits of the instruction being built
  std::vector<TileState> tiles_;
  std::vector<HbmState> hbm_;
  std::uint64_t next_hbm_address_ = 0;
  Allocator scratchpad_;
  Allocator accumulator_;
  Tracker scratchpad_tracker_;   // reference_tracking_ only
  Tracker accumulator_tracker_;  // reference_tracking_ only
  std::vector<std::uint32_t> freed_pending_[2];
  bool reference_tracking_ = false;
  // Label ids of the last few labels used (most labels repeat in short cycles).
  struct RecentLabel {
    std::string label;
    std::uint32_t id = 0;
  };
  RecentLabel recent_labels_[4];
  std::uint32_t recent_count_ = 0;  // entries of recent_labels_ in use, filled round-robin
  std::uint32_t next_queue_ = 0;
  std::uint16_t max_queue_used_ = 0;
  bool finished_ = false;
};

}  // namespace systole
