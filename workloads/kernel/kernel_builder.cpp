#include "workloads/kernel/kernel_builder.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/checked_math.h"
#include "base/error.h"

namespace systole {
struct InstrSite;
}  // namespace systole

template <>
struct fmt::formatter<systole::InstrSite> : fmt::formatter<std::string> {
  template <class Ctx>
  auto format(const systole::InstrSite& site, Ctx& ctx) const {
    return fmt::formatter<std::string>::format(site.str(), ctx);
  }
};

namespace systole {

namespace {

thread_local bool reference_wait_tracking = false;

constexpr std::uint64_t kHbmAlignBytes = 4096;
constexpr std::uint32_t kNoTile = ~std::uint32_t{0};
constexpr std::uint64_t kOnChipAlignBytes = 64;

// Bit of an engine in Access::synced (engines past the 64th are never marked).
std::uint64_t SlotBit(const EngineId& e) {
  const unsigned slot = e.kind == EngineKind::kDma ? 3u + e.index : static_cast<unsigned>(e.kind);
  return slot < 64 ? (std::uint64_t{1} << slot) : 0;
}

// The HBM access pattern of a block of a row-major tensor: one chunk per row, or a single
// chunk when the block spans whole rows (then it is contiguous).
HbmPattern PatternOf(const HbmTensor& t, const HbmView& v) {
  const std::uint64_t b = DtypeBytes(t.dtype);
  const bool full_rows = v.nc == t.cols;
  HbmPattern p;
  p.address = t.address + (v.r0 * t.cols + v.c0) * b;
  p.chunk_bytes = full_rows ? v.nr * v.nc * b : v.nc * b;
  p.chunks = full_rows ? 1 : v.nr;
  p.stride_bytes = t.cols * b;
  return p;
}

bool Overlap(std::uint64_t a0, std::uint64_t an, std::uint64_t b0, std::uint64_t bn) {
  return a0 < b0 + bn && b0 < a0 + an;
}

bool Covers(std::uint64_t outer0, std::uint64_t outern, std::uint64_t inner0,
            std::uint64_t innern) {
  return outer0 <= inner0 && inner0 + innern <= outer0 + outern;
}

}  // namespace

ReferenceWaitTracking::ReferenceWaitTracking() : previous_(reference_wait_tracking) {
  reference_wait_tracking = true;
}

ReferenceWaitTracking::~ReferenceWaitTracking() { reference_wait_tracking = previous_; }

KernelBuilder::KernelBuilder(std::string kernel_name, const ArchConfig& arch,
                             std::uint64_t hbm_base)
    : arch_(arch), next_hbm_address_(hbm_base), reference_tracking_(reference_wait_tracking) {
  program_.kernel_name = std::move(kernel_name);
  scratchpad_.partition_bytes = arch.core.scratchpad.partition_bytes;
  scratchpad_.partitions = static_cast<std::uint32_t>(arch.core.scratchpad.partitions);
  accumulator_.partition_bytes = arch.core.accumulator.partition_bytes;
  accumulator_.partitions = static_cast<std::uint32_t>(arch.core.accumulator.partitions);
}

HbmTensor KernelBuilder::Hbm(const std::string& name, std::uint64_t rows, std::uint64_t cols,
                             Dtype dtype, bool initialised) {
  if (rows == 0 || cols == 0) {
    throw InputError(
        fmt::format("HBM tensor '{}': shape {}x{} must be at least 1x1", name, rows, cols));
  }
  HbmState h;
  h.tensor.id = static_cast<std::uint32_t>(hbm_.size());
  h.tensor.rows = rows;
  h.tensor.cols = cols;
  h.tensor.dtype = dtype;
  h.tensor.address = next_hbm_address_;
  h.name = name;
  h.written = initialised;
  h.tracker.coarse_reads = true;
  const std::uint64_t bytes =
      CheckedMul(CheckedMul(rows, cols, "HBM tensor size"), DtypeBytes(dtype), "HBM tensor size");
  next_hbm_address_ =
      CheckedAdd(h.tensor.address, CeilDiv(bytes, kHbmAlignBytes) * kHbmAlignBytes, "HBM address");
  hbm_.push_back(std::move(h));
  return hbm_.back().tensor;
}

std::uint64_t KernelBuilder::AllocateBytes(Allocator& alloc, std::uint64_t bytes,
                                           const std::string& name, const char* memory_name) {
  bytes = CeilDiv(bytes, kOnChipAlignBytes) * kOnChipAlignBytes;
  std::uint64_t offset = 0;
  std::size_t at = 0;
  for (; at < alloc.used.size(); ++at) {
    if (alloc.used[at].first >= offset + bytes) break;  // gap before this block fits
    offset = alloc.used[at].second;
  }
  if (offset + bytes > alloc.partition_bytes) {
    std::uint64_t in_use = 0;
    for (const auto& u : alloc.used) in_use += u.second - u.first;
    throw InputError(fmt::format(
        "allocation '{}' needs {} bytes per partition of the {}, but only {} of {} are free "
        "(largest free block smaller); free tiles or use smaller ones",
        name, bytes, memory_name, alloc.partition_bytes - in_use, alloc.partition_bytes));
  }
  alloc.used.insert(alloc.used.begin() + static_cast<std::ptrdiff_t>(at), {offset, offset + bytes});
  return offset;
}

Tile KernelBuilder::Scratchpad(const std::string& name, std::uint32_t partitions,
                               std::uint64_t free_elems, Dtype dtype) {
  if (partitions == 0 || free_elems == 0 || partitions > scratchpad_.partitions) {
    throw InputError(fmt::format(
        "allocation '{}': scratchpad tile {} partitions x {} elements is invalid: expected 1.."
        "{} partitions and at least 1 element",
        name, partitions, free_elems, scratchpad_.partitions));
  }
  TileState s;
  s.tile = {static_cast<std::uint32_t>(tiles_.size()), partitions, free_elems, dtype,
            MemorySpace::kScratchpad};
  s.name = name;
  s.size_bytes = CheckedMul(free_elems, DtypeBytes(dtype), "tile size");
  s.offset_bytes = AllocateBytes(scratchpad_, s.size_bytes, name, "scratchpad");
  s.written = WrittenRegion(partitions, free_elems);
  FindFreedOverlaps(s);
  tiles_.push_back(std::move(s));
  return tiles_.back().tile;
}

Tile KernelBuilder::Accumulator(const std::string& name, std::uint32_t partitions,
                                std::uint64_t free_elems) {
  if (partitions == 0 || free_elems == 0 || partitions > accumulator_.partitions) {
    throw InputError(fmt::format(
        "allocation '{}': accumulator tile {} partitions x {} elements is invalid: expected 1.."
        "{} partitions and at least 1 element",
        name, partitions, free_elems, accumulator_.partitions));
  }
  TileState s;
  s.tile = {static_cast<std::uint32_t>(tiles_.size()), partitions, free_elems, Dtype::kFp32,
            MemorySpace::kAccumulator};
  s.name = name;
  s.size_bytes = CheckedMul(free_elems, 4, "tile size");
  s.offset_bytes = AllocateBytes(accumulator_, s.size_bytes, name, "accumulator");
  s.written = WrittenRegion(partitions, free_elems);
  FindFreedOverlaps(s);
  tiles_.push_back(std::move(s));
  return tiles_.back().tile;
}

void KernelBuilder::Free(const Tile& tile) {
  if (tile.id >= tiles_.size() || !tiles_[tile.id].live) {
    throw InputError(fmt::format("kernel '{}': free of tile #{}: not a live tile",
                                 program_.kernel_name, tile.id));
  }
  TileState& s = tiles_[tile.id];
  Allocator& alloc = s.tile.space == MemorySpace::kAccumulator ? accumulator_ : scratchpad_;
  auto it = std::find_if(alloc.used.begin(), alloc.used.end(),
                         [&](const auto& u) { return u.first == s.offset_bytes; });
  if (it != alloc.used.end()) alloc.used.erase(it);
  s.live = false;
  s.written = WrittenRegion();
  // Accesses stay (in the tile's list, or the memory's tracker), so a tile later allocated
  // on the same bytes waits for them (write-after-read/write across reuse).
  if (!s.accesses.empty()) FreedPending(s.tile.space).push_back(tile.id);
}

void KernelBuilder::FindFreedOverlaps(TileState& s) {
  if (reference_tracking_) return;
  std::vector<std::uint32_t>& pending = FreedPending(s.tile.space);
  std::size_t kept = 0;
  for (const std::uint32_t f : pending) {
    const TileState& freed = tiles_[f];
    if (freed.accesses.empty()) continue;  // everything it had is ordered: forget it
    pending[kept++] = f;
    if (Overlap(freed.offset_bytes, freed.size_bytes, s.offset_bytes, s.size_bytes)) {
      s.freed_overlaps.push_back(f);
    }
  }
  pending.resize(kept);
}

std::string InstrSite::str() const {
  return fmt::format("kernel '{}' instruction #{} {} '{}'", *kernel, id, OpcodeName(op), *label);
}

KernelBuilder::TileState& KernelBuilder::CheckView(const TileView& v, const char* what,
                                                   const InstrSite& where) {
  if (v.tile >= tiles_.size()) {
    throw InputError(fmt::format("{}: {} refers to unknown tile #{}", where, what, v.tile));
  }
  TileState& s = tiles_[v.tile];
  if (!s.live) {
    throw InputError(fmt::format("{}: {} uses tile '{}' after it was freed", where, what, s.name));
  }
  if (v.np == 0 || v.nf == 0 || v.p0 + static_cast<std::uint64_t>(v.np) > s.tile.partitions ||
      v.f0 + v.nf > s.tile.free_elems) {
    throw InputError(
        fmt::format("{}: {} slice [{}:{}, {}:{}] is out of bounds of tile '{}' ({} partitions x {} "
                    "elements)",
                    where, what, v.p0, v.p0 + v.np, v.f0, v.f0 + v.nf, s.name, s.tile.partitions,
                    s.tile.free_elems));
  }
  return s;
}

OnChipRegion KernelBuilder::Region(const TileView& v) const {
  const TileState& s = tiles_[v.tile];
  const std::uint64_t b = DtypeBytes(s.tile.dtype);
  // The narrowing is exact: CheckView keeps views inside their tile, and a tile inside a
  // memory of at most 4096 partitions of under 4 GiB (the parameter ranges).
  OnChipRegion r;
  r.space = s.tile.space;
  r.partition = static_cast<std::uint16_t>(v.p0);
  r.partitions = static_cast<std::uint16_t>(v.np);
  r.offset_bytes = static_cast<std::uint32_t>(s.offset_bytes + v.f0 * b);
  r.bytes_per_partition = static_cast<std::uint32_t>(v.nf * b);
  return r;
}

KernelBuilder::HbmState& KernelBuilder::CheckHbm(const HbmView& v, const char* what,
                                                 const InstrSite& where) {
  if (v.tensor >= hbm_.size()) {
    throw InputError(fmt::format("{}: {} refers to unknown HBM tensor #{}", where, what, v.tensor));
  }
  HbmState& h = hbm_[v.tensor];
  if (v.nr == 0 || v.nc == 0 || v.r0 + v.nr > h.tensor.rows || v.c0 + v.nc > h.tensor.cols) {
    throw InputError(fmt::format(
        "{}: {} block [{}:{}, {}:{}] is out of bounds of HBM tensor '{}' ({} x {})", where, what,
        v.r0, v.r0 + v.nr, v.c0, v.c0 + v.nc, h.name, h.tensor.rows, h.tensor.cols));
  }
  return h;
}

void KernelBuilder::CheckWritten(const TileView& v, const char* what, const InstrSite& where) {
  const TileState& s = tiles_[v.tile];
  if (const auto p = s.written.FirstUnwritten(v.p0, v.np, v.f0, v.nf)) {
    throw InputError(fmt::format(
        "{}: {} reads tile '{}' [{}:{}, {}:{}] but partition {} of that region was never "
        "written",
        where, what, s.name, v.p0, v.p0 + v.np, v.f0, v.f0 + v.nf, *p));
  }
}

void KernelBuilder::MarkWritten(const TileView& v) {
  tiles_[v.tile].written.Mark(v.p0, v.np, v.f0, v.nf);
}

template <typename F>
void KernelBuilder::VisitWritesNear(Tracker& tracker, const Access& a, F&& visit) {
  // A write overlapping `a` (or covered by it) starts at a row in
  // (a.p0 - max_np, a.p0 + a.np] and a byte in (a.b0 - max_nb, a.b0 + a.nb].
  const std::uint64_t row_lo = a.p0 >= tracker.max_np ? a.p0 - tracker.max_np + 1 : 0;
  const std::uint64_t byte_lo = a.b0 >= tracker.max_nb ? a.b0 - tracker.max_nb + 1 : 0;
  auto row = tracker.writes.lower_bound(row_lo);
  while (row != tracker.writes.end() && row->first <= a.p0 + a.np) {
    auto& bytes = row->second;
    auto col = bytes.lower_bound(byte_lo);
    while (col != bytes.end() && col->first <= a.b0 + a.nb) {
      auto& list = col->second;
      std::size_t kept = 0;
      for (std::size_t i = 0; i < list.size(); ++i) {
        ++tracker.visited;
        if (!visit(list[i])) list[kept++] = list[i];
      }
      list.resize(kept);
      col = list.empty() ? bytes.erase(col) : std::next(col);
    }
    row = bytes.empty() ? tracker.writes.erase(row) : std::next(row);
  }
}

std::uint64_t KernelBuilder::HbmWritesVisited() const {
  std::uint64_t total = 0;
  for (const HbmState& h : hbm_) total += h.tracker.visited;
  return total;
}

void KernelBuilder::Track(Tracker& tracker, const Access& a, std::vector<std::uint32_t>& waits) {
  auto& list = tracker.accesses;
  if (tracker.coarse_reads) {
    const std::size_t slot = a.engine.kind == EngineKind::kDma
                                 ? 3u + a.engine.index
                                 : static_cast<std::size_t>(a.engine.kind);
    if (tracker.latest_read.size() <= slot) tracker.latest_read.resize(slot + 1, -1);
    const std::uint64_t bit = SlotBit(a.engine);
    // Read after write (a read) or write after write (a write): the same test, as every
    // entry is a write.
    auto wait_for = [&](Access& old) {
      if (old.engine == a.engine || (old.synced & bit)) return;
      if (Overlap(old.p0, old.np, a.p0, a.np) && Overlap(old.b0, old.nb, a.b0, a.nb)) {
        waits.push_back(old.instr);
        old.synced |= bit;
      }
    };
    if (!a.write) {
      VisitWritesNear(tracker, a, [&](Access& old) {
        wait_for(old);
        return false;
      });
      tracker.latest_read[slot] = a.instr;
      return;
    }
    for (std::size_t e = 0; e < tracker.latest_read.size(); ++e) {  // write after read
      if (e != slot && tracker.latest_read[e] >= 0) {
        waits.push_back(static_cast<std::uint32_t>(tracker.latest_read[e]));
      }
    }
    // Then drop the writes this one covers (it orders them for every later access).
    VisitWritesNear(tracker, a, [&](Access& old) {
      wait_for(old);
      return Covers(a.p0, a.np, old.p0, old.np) && Covers(a.b0, a.nb, old.b0, old.nb);
    });
    tracker.writes[a.p0][a.b0].push_back(a);
    tracker.max_np = std::max(tracker.max_np, a.np);
    tracker.max_nb = std::max(tracker.max_nb, a.nb);
    return;
  }
  // This engine's earlier read of the same tile, found in the same pass (the first one).
  Access* merge = nullptr;
  ScanForWaits(list, a, a.tile != kNoTile ? &merge : nullptr, waits);
  if (merge != nullptr) {
    MergeRead(*merge, a);
    return;
  }
  ForgetOrdered(list, a);
  list.push_back(a);
}

void KernelBuilder::ScanForWaits(std::vector<Access>& list, const Access& a, Access** merge,
                                 std::vector<std::uint32_t>& waits) {
  const std::uint64_t bit = SlotBit(a.engine);
  const bool mergeable = !a.write && merge != nullptr;
  for (Access& old : list) {
    if (old.engine == a.engine) {  // the engine itself keeps program order
      if (mergeable && *merge == nullptr && !old.write && old.tile == a.tile) *merge = &old;
      continue;
    }
    if (!(a.write || old.write)) continue;  // read after read: no order needed
    if (old.synced & bit) continue;         // an earlier instruction of ours waited already
    if (Overlap(old.p0, old.np, a.p0, a.np) && Overlap(old.b0, old.nb, a.b0, a.nb)) {
      waits.push_back(old.instr);
      old.synced |= bit;
    }
  }
}

void KernelBuilder::MergeRead(Access& old, const Access& a) {
  const std::uint64_t p1 = std::max(old.p0 + old.np, a.p0 + a.np);
  const std::uint64_t b1 = std::max(old.b0 + old.nb, a.b0 + a.nb);
  old.p0 = std::min(old.p0, a.p0);
  old.b0 = std::min(old.b0, a.b0);
  old.np = p1 - old.p0;
  old.nb = b1 - old.b0;
  old.instr = a.instr;
  old.synced = 0;  // nobody has waited for this (newer) instruction yet
}

void KernelBuilder::ForgetOrdered(std::vector<Access>& list, const Access& a) {
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const Access& old) {
                              const bool covered = Covers(a.p0, a.np, old.p0, old.np) &&
                                                   Covers(a.b0, a.nb, old.b0, old.nb);
                              return covered && (a.write || (!old.write && old.engine == a.engine));
                            }),
             list.end());
}

void KernelBuilder::TrackTile(const Access& a, std::vector<std::uint32_t>& waits) {
  TileState& t = tiles_[a.tile];
  if (reference_tracking_) {
    Track(TrackerOf(t.tile.space), a, waits);
    return;
  }
  // Track over the concatenation of the tile's list and the lists of the freed tiles under
  // it: accesses elsewhere cannot overlap this one, so Track would skip them anyway. At
  // most one entry (this engine's read of this tile) can merge, so list order is moot.
  Access* merge = nullptr;
  ScanForWaits(t.accesses, a, &merge, waits);
  for (const std::uint32_t f : t.freed_overlaps) ScanForWaits(tiles_[f].accesses, a, &merge, waits);
  if (merge != nullptr) {
    MergeRead(*merge, a);
    return;
  }
  ForgetOrdered(t.accesses, a);
  if (!t.freed_overlaps.empty()) {
    std::size_t kept = 0;
    for (const std::uint32_t f : t.freed_overlaps) {
      ForgetOrdered(tiles_[f].accesses, a);
      if (!tiles_[f].accesses.empty()) t.freed_overlaps[kept++] = f;  // else nothing left
    }
    t.freed_overlaps.resize(kept);
  }
  t.accesses.push_back(a);
}

KernelBuilder::Access KernelBuilder::OnChipAccess(const TileView& v, std::uint32_t instr,
                                                  EngineId engine, bool write) const {
  const OnChipRegion r = Region(v);
  return {instr, engine, r.partition, r.partitions, r.offset_bytes, r.bytes_per_partition,
          write, 0,      v.tile};
}

EngineId KernelBuilder::NextQueue(int queue, const InstrSite& where) {
  const auto queues = static_cast<std::uint32_t>(arch_.core.dma.queues);
  std::uint32_t q = 0;
  if (queue < 0) {
    q = next_queue_;
    next_queue_ = (next_queue_ + 1) % queues;
  } else if (static_cast<std::uint32_t>(queue) >= queues) {
    throw InputError(
        fmt::format("{}: DMA queue {} does not exist (the core has {})", where, queue, queues));
  } else {
    q = static_cast<std::uint32_t>(queue);
  }
  max_queue_used_ = std::max<std::uint16_t>(max_queue_used_, static_cast<std::uint16_t>(q + 1));
  return {EngineKind::kDma, static_cast<std::uint16_t>(q)};
}

void KernelBuilder::ReserveInstructions(double count) {
  if (!(count <= static_cast<double>(kMaxInstructions))) TooManyInstructions(count);
  program_.instructions.reserve(static_cast<std::size_t>(count));
}

void KernelBuilder::TooManyInstructions(double estimate) const {
  const std::string size = estimate > 0
                               ? fmt::format("would issue about {:.3g} instructions", estimate)
                               : fmt::format("issues more than {} instructions", kMaxInstructions);
  throw InputError(fmt::format(
      "kernel '{}' {}, over the limit of {} per program: use larger tiles or blocks, or a "
      "smaller problem",
      program_.kernel_name, size, kMaxInstructions));
}

std::uint32_t KernelBuilder::Emit(Instruction& in, const std::string& label) {
  constexpr std::uint32_t kRecent = sizeof(recent_labels_) / sizeof(recent_labels_[0]);
  bool found = false;
  for (std::uint32_t i = 0; i < std::min(recent_count_, kRecent); ++i) {
    if (recent_labels_[i].label == label) {
      in.name = recent_labels_[i].id;
      found = true;
      break;
    }
  }
  if (!found) {
    auto [it, inserted] =
        name_ids_.emplace(label, static_cast<std::uint32_t>(program_.names.size()));
    if (inserted) program_.names.push_back(label);
    in.name = it->second;
    RecentLabel& slot = recent_labels_[recent_count_++ % kRecent];
    slot.label = label;
    slot.id = it->second;
  }
  std::sort(waits_.begin(), waits_.end());
  in.waits.assign(waits_.begin(), std::unique(waits_.begin(), waits_.end()));
  return static_cast<std::uint32_t>(program_.instructions.size() - 1);
}

std::uint32_t KernelBuilder::DmaLoad(const TileView& dst, const HbmView& src,
                                     const std::string& label, int queue) {
  const auto id = static_cast<std::uint32_t>(program_.instructions.size());
  const InstrSite where{&program_.kernel_name, id, Opcode::kDmaLoad, &label};
  TileState& t = CheckView(dst, "destination", where);
  HbmState& h = CheckHbm(src, "source", where);
  if (t.tile.space != MemorySpace::kScratchpad) {
    throw InputError(
        fmt::format("{}: destination tile '{}' must be in the scratchpad", where, t.name));
  }
  if (src.nr != dst.np || src.nc != dst.nf) {
    throw InputError(fmt::format(
        "{}: shape mismatch: HBM block {}x{} into tile slice {} partitions x {} elements", where,
        src.nr, src.nc, dst.np, dst.nf));
  }
  if (t.tile.dtype != h.tensor.dtype) {
    throw InputError(fmt::format("{}: dtype mismatch: HBM tensor '{}' is {}, tile '{}' is {}",
                                 where, h.name, DtypeName(h.tensor.dtype), t.name,
                                 DtypeName(t.tile.dtype)));
  }
  if (!h.written) {
    throw InputError(
        fmt::format("{}: reads HBM tensor '{}' before anything stored to it", where, h.name));
  }
  const EngineId engine = NextQueue(queue, where);
  Instruction& in = NewInstruction();
  in.op = Opcode::kDmaLoad;
  in.engine = engine;
  in.dtype = t.tile.dtype;
  in.partitions = dst.np;
  in.free_elems = static_cast<std::uint32_t>(dst.nf);
  in.dst = Region(dst);
  in.hbm = PatternOf(h.tensor, src);
  std::vector<std::uint32_t>& waits = NewWaits();
  Track(h.tracker, {id, in.engine, src.r0, src.nr, src.c0, src.nc, false, 0, kNoTile}, waits);
  TrackTile(OnChipAccess(dst, id, in.engine, true), waits);
  MarkWritten(dst);
  program_.hbm_bytes += in.hbm.bytes();
  return Emit(in, label);
}

std::uint32_t KernelBuilder::DmaStore(const HbmView& dst, const TileView& src,
                                      const std::string& label, int queue) {
  const auto id = static_cast<std::uint32_t>(program_.instructions.size());
  const InstrSite where{&program_.kernel_name, id, Opcode::kDmaStore, &label};
  TileState& t = CheckView(src, "source", where);
  HbmState& h = CheckHbm(dst, "destination", where);
  if (t.tile.space != MemorySpace::kScratchpad) {
    throw InputError(fmt::format("{}: source tile '{}' must be in the scratchpad", where, t.name));
  }
  if (dst.nr != src.np || dst.nc != src.nf) {
    throw InputError(fmt::format(
        "{}: shape mismatch: tile slice {} partitions x {} elements into HBM block {}x{}", where,
        src.np, src.nf, dst.nr, dst.nc));
  }
  if (t.tile.dtype != h.tensor.dtype) {
    throw InputError(fmt::format("{}: dtype mismatch: tile '{}' is {}, HBM tensor '{}' is {}",
                                 where, t.name, DtypeName(t.tile.dtype), h.name,
                                 DtypeName(h.tensor.dtype)));
  }
  CheckWritten(src, "source", where);
  const EngineId engine = NextQueue(queue, where);
  Instruction& in = NewInstruction();
  in.op = Opcode::kDmaStore;
  in.engine = engine;
  in.dtype = t.tile.dtype;
  in.partitions = src.np;
  in.free_elems = static_cast<std::uint32_t>(src.nf);
  in.src0 = Region(src);
  in.hbm = PatternOf(h.tensor, dst);
  std::vector<std::uint32_t>& waits = NewWaits();
  TrackTile(OnChipAccess(src, id, in.engine, false), waits);
  Track(h.tracker, {id, in.engine, dst.r0, dst.nr, dst.c0, dst.nc, true, 0, kNoTile}, waits);
  h.written = true;
  program_.hbm_bytes += in.hbm.bytes();
  return Emit(in, label);
}

std::uint32_t KernelBuilder::Matmul(const TileView& acc, const TileView& stationary,
                                    const TileView& moving, bool accumulate,
                                    const std::string& label) {
  const auto id = static_cast<std::uint32_t>(program_.instructions.size());
  const InstrSite where{&program_.kernel_name, id, Opcode::kMatmul, &label};
  TileState& a = CheckView(acc, "accumulator", where);
  TileState& s = CheckView(stationary, "stationary", where);
  TileState& m = CheckView(moving, "moving", where);
  if (a.tile.space != MemorySpace::kAccumulator) {
    throw InputError(fmt::format("{}: output tile '{}' must be in the accumulator", where, a.name));
  }
  if (s.tile.space != MemorySpace::kScratchpad || m.tile.space != MemorySpace::kScratchpad) {
    throw InputError(fmt::format("{}: stationary '{}' and moving '{}' must be in the scratchpad",
                                 where, s.name, m.name));
  }
  if (s.tile.dtype != m.tile.dtype) {
    throw InputError(fmt::format("{}: dtype mismatch: stationary '{}' is {}, moving '{}' is {}",
                                 where, s.name, DtypeName(s.tile.dtype), m.name,
                                 DtypeName(m.tile.dtype)));
  }
  const ArrayShape& array = arch_.core.tensor.array;
  if (stationary.np != moving.np || stationary.np > array.rows || stationary.nf > array.cols ||
      acc.np != stationary.nf || acc.nf != moving.nf) {
    throw InputError(fmt::format(
        "{}: shapes do not fit acc[S,T] (+)= stationary[K,S]^T x moving[K,T] with K <= {} rows "
        "and S <= {} columns: stationary {}x{}, moving {}x{}, accumulator {}x{}",
        where, array.rows, array.cols, stationary.np, stationary.nf, moving.np, moving.nf, acc.np,
        acc.nf));
  }
  CheckWritten(stationary, "stationary", where);
  CheckWritten(moving, "moving", where);
  if (accumulate) CheckWritten(acc, "accumulator (accumulate=true)", where);

  Instruction& in = NewInstruction();
  in.op = Opcode::kMatmul;
  in.engine = {EngineKind::kTensor, 0};
  in.dtype = s.tile.dtype;
  in.accumulate = accumulate;
  in.partitions = stationary.np;
  in.stationary_cols = static_cast<std::uint32_t>(stationary.nf);
  in.moving_cols = static_cast<std::uint32_t>(moving.nf);
  in.src0 = Region(stationary);
  in.src1 = Region(moving);
  in.dst = Region(acc);
  std::vector<std::uint32_t>& waits = NewWaits();
  TrackTile(OnChipAccess(stationary, id, in.engine, false), waits);
  TrackTile(OnChipAccess(moving, id, in.engine, false), waits);
  TrackTile(OnChipAccess(acc, id, in.engine, true), waits);
  MarkWritten(acc);
  program_.flops += 2ull * stationary.np * stationary.nf * moving.nf;
  return Emit(in, label);
}

std::uint32_t KernelBuilder::Vector(VectorOp op, const TileView& dst, const TileView& src,
                                    const std::string& label) {
  const bool reduce = op == VectorOp::kReduceSum || op == VectorOp::kReduceMax;
  const bool unary = op == VectorOp::kCopy || op == VectorOp::kScale || op == VectorOp::kRelu ||
                     op == VectorOp::kReciprocal;
  const Opcode opcode = reduce ? Opcode::kVectorReduce : Opcode::kVectorUnary;
  const auto id = static_cast<std::uint32_t>(program_.instructions.size());
  const InstrSite where{&program_.kernel_name, id, opcode, &label};
  if (!reduce && !unary) {
    throw InputError(fmt::format("{}: a two-input vector op needs two sources", where));
  }
  CheckView(dst, "destination", where);
  TileState& s = CheckView(src, "source", where);
  if (dst.np != src.np || (reduce ? dst.nf != 1 : dst.nf != src.nf)) {
    throw InputError(
        fmt::format("{}: shape mismatch: source {}x{}, destination {}x{} (expected "
                    "{}x{})",
                    where, src.np, src.nf, dst.np, dst.nf, src.np, reduce ? 1 : src.nf));
  }
  CheckWritten(src, "source", where);
  Instruction& in = NewInstruction();
  in.op = opcode;
  in.engine = {EngineKind::kVector, 0};
  in.dtype = s.tile.dtype;
  in.partitions = src.np;
  in.free_elems = static_cast<std::uint32_t>(src.nf);
  in.src0 = Region(src);
  in.dst = Region(dst);
  std::vector<std::uint32_t>& waits = NewWaits();
  TrackTile(OnChipAccess(src, id, in.engine, false), waits);
  TrackTile(OnChipAccess(dst, id, in.engine, true), waits);
  MarkWritten(dst);
  return Emit(in, label);
}

std::uint32_t KernelBuilder::Vector(VectorOp op, const TileView& dst, const TileView& a,
                                    const TileView& b, const std::string& label) {
  const auto id = static_cast<std::uint32_t>(program_.instructions.size());
  const InstrSite where{&program_.kernel_name, id, Opcode::kVectorBinary, &label};
  if (!(op == VectorOp::kAdd || op == VectorOp::kSub || op == VectorOp::kMul ||
        op == VectorOp::kMax || op == VectorOp::kDiv)) {
    throw InputError(fmt::format("{}: this vector op takes one source", where));
  }
  CheckView(dst, "destination", where);
  TileState& ta = CheckView(a, "first source", where);
  TileState& tb = CheckView(b, "second source", where);
  // b may be one element per partition, broadcast along the free dimension.
  if (a.np != b.np || (a.nf != b.nf && b.nf != 1) || dst.np != a.np || dst.nf != a.nf) {
    throw InputError(
        fmt::format("{}: shape mismatch: sources {}x{} and {}x{} (or {}x1), "
                    "destination {}x{}",
                    where, a.np, a.nf, b.np, b.nf, a.np, dst.np, dst.nf));
  }
  // A broadcast scalar may be any dtype, and so may an accumulator (fp32) operand: the
  // vector engine reads both and casts (as when partial sums are added into an SBUF tile).
  const bool mixed_ok = b.nf == 1 || ta.tile.space == MemorySpace::kAccumulator ||
                        tb.tile.space == MemorySpace::kAccumulator;
  if (ta.tile.dtype != tb.tile.dtype && !mixed_ok) {
    throw InputError(fmt::format("{}: dtype mismatch: '{}' is {}, '{}' is {}", where, ta.name,
                                 DtypeName(ta.tile.dtype), tb.name, DtypeName(tb.tile.dtype)));
  }
  CheckWritten(a, "first source", where);
  CheckWritten(b, "second source", where);
  Instruction& in = NewInstruction();
  in.op = Opcode::kVectorBinary;
  in.engine = {EngineKind::kVector, 0};
  in.dtype = ta.tile.dtype;
  in.partitions = a.np;
  in.free_elems = static_cast<std::uint32_t>(a.nf);
  in.src0 = Region(a);
  in.src1 = Region(b);
  in.dst = Region(dst);
  std::vector<std::uint32_t>& waits = NewWaits();
  TrackTile(OnChipAccess(a, id, in.engine, false), waits);
  TrackTile(OnChipAccess(b, id, in.engine, false), waits);
  TrackTile(OnChipAccess(dst, id, in.engine, true), waits);
  MarkWritten(dst);
  return Emit(in, label);
}

std::uint32_t KernelBuilder::Activation(ActivationFn fn, const TileView& dst, const TileView& src,
                                        const std::string& label) {
  return ActivationImpl(fn, dst, src, nullptr, label);
}

std::uint32_t KernelBuilder::Activation(ActivationFn fn, const TileView& dst, const TileView& src,
                                        const TileView& scale_bias, const std::string& label) {
  return ActivationImpl(fn, dst, src, &scale_bias, label);
}

std::uint32_t KernelBuilder::ActivationImpl(ActivationFn fn, const TileView& dst,
                                            const TileView& src, const TileView* scale_bias,
                                            const std::string& label) {
  const auto id = static_cast<std::uint32_t>(program_.instructions.size());
  const InstrSite where{&program_.kernel_name, id, Opcode::kActivation, &label};
  CheckView(dst, "destination", where);
  TileState& s = CheckView(src, "source", where);
  if (dst.np != src.np || dst.nf != src.nf) {
    throw InputError(fmt::format("{}: shape mismatch: source {}x{}, destination {}x{}", where,
                                 src.np, src.nf, dst.np, dst.nf));
  }
  CheckWritten(src, "source", where);
  if (scale_bias != nullptr) {
    const TileView& sb = *scale_bias;
    const Dtype sb_dtype = CheckView(sb, "scale/bias", where).tile.dtype;
    if (sb.np != src.np || (sb.nf != 1 && sb.nf != 2) || sb_dtype != Dtype::kFp32) {
      throw InputError(fmt::format(
          "{}: scale/bias must be fp32 [{} x 1] or [{} x 2] (one scale, or scale and bias, "
          "per partition), got {} [{} x {}]",
          where, src.np, src.np, DtypeName(sb_dtype), sb.np, sb.nf));
    }
    CheckWritten(sb, "scale/bias", where);
  }
  Instruction& in = NewInstruction();
  in.op = Opcode::kActivation;
  in.engine = {EngineKind::kScalar, 0};
  in.fn = fn;
  in.dtype = s.tile.dtype;
  in.partitions = src.np;
  in.free_elems = static_cast<std::uint32_t>(src.nf);
  in.src0 = Region(src);
  if (scale_bias != nullptr) in.src1 = Region(*scale_bias);
  in.dst = Region(dst);
  std::vector<std::uint32_t>& waits = NewWaits();
  TrackTile(OnChipAccess(src, id, in.engine, false), waits);
  if (scale_bias != nullptr) TrackTile(OnChipAccess(*scale_bias, id, in.engine, false), waits);
  TrackTile(OnChipAccess(dst, id, in.engine, true), waits);
  MarkWritten(dst);
  return Emit(in, label);
}

Program KernelBuilder::Finish() {
  if (finished_) throw std::logic_error("KernelBuilder::Finish called twice");
  finished_ = true;
  program_.dma_queues = max_queue_used_;
  return std::move(program_);
}

}  // namespace systole
