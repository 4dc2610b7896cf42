// HBM as a SystemC TLM-2.0 loosely-timed target, timed by a fast closed-form model.
//
// What it models
//   The memory system of hbm_config.h (stacks x channels x pseudo-channels, bank groups,
//   banks, row buffers, JEDEC timings, the documented address map). One b_transport call
//   is one DMA descriptor: a contiguous range, or a list of chunks (HbmChunksExtension,
//   e.g. the rows of a strided 2-D tile). The call returns at once with `delay` advanced to
//   the completion time; cost is O(pseudo-channels touched x min(pages, banks)) per chunk,
//   independent of the bytes moved. In a chunk list, chunks that only re-read the page the
//   previous chunk on their PC left open (rows of a tile narrower than a page) are folded
//   into one O(1) step per run (PcHitRun), with exactly the chunk-by-chunk result.
//
//   HbmFastModel keeps, per pseudo-channel (PC):
//     - per bank: open row, earliest column (ACT + tRCD), earliest PRE (tRAS, tRTP, tWR)
//       and ACT (tRC) times (rows stay open: open-page policy, like hbm_reference.h);
//     - an activation clock: ACTs are a server of rate 1 / max(tRRD_S, tFAW/4, tRC/banks);
//     - a data-bus clock: bursts are a server of rate 1 / burst time;
//     - the last read and write data end (tWTR_S/_L, read -> write turnaround).
//   A transfer touches, on each PC, a contiguous PC-local range: n bursts over p pages,
//   the first maybe already open (a row hit). In closed form:
//     first data = [PRE + tRP] + ACT + tRCD + tCL (tCWL for writes), ACT no earlier than the
//                  activation clock, the bank's tRAS/tRC/tRP limits and refresh;
//     own end    = first data + n x burst            (several pages: bank groups interleave)
//                  first data + burst + (n-1) x max(burst, tCCD_L)  (one page: one group)
//                  and no earlier than the last page's ACT + tRCD + tCL + its bursts,
//                  the ACTs being one activation interval apart;
//     bus end    = max(bus clock, earliest data ignoring bank conflicts) + n x burst;
//     completion = max(own end, bus end), both stretched over refresh windows.
//   So concurrent DMA queues share each PC's bus and activation rate, while a bank
//   conflict delays only the transfer that has it (as FR-FCFS reordering would).
//   Refresh: exact all-bank windows, PC i at (i + 1) x tREFI / num_pcs + k x tREFI; a window
//   inside a transfer costs its data tRP + tRFC + tRCD + tCL (close rows, refresh, reopen,
//   refill the read pipeline), the activation server tRP + tRFC + tRAS + tRCD (the rows
//   opened last must stay open tRAS; ACTs within tRCD of it are lost), and closes every row.
//   Per-bank refresh (hbm.refresh_mode = per_bank, hbm_config.h): before a transfer, the
//   REFsb due by the PC's current time (max of arrival, activation and bus clocks) each pick a
//   bank by the reference's rule, "wanted" being the transfer's own banks; the bank closes and
//   cannot activate before PRE + tRP + tRFCpb. Only a transfer whose first bank is blocked
//   waits (a REFsb inside a transfer takes a bank the transfer has left: free).
//   Accesses must lie inside the capacity (else TLM_ADDRESS_ERROR_RESPONSE). TLM streaming
//   (streaming width < length) re-reads the same `width` bytes. Time is integer ps.
//
// Accuracy against hbm_reference.h (hbm_test.cpp): within 5% on sequential streams
// (4 KiB-8 MiB), strided tiles, descriptor streams and two concurrent queues; within 10%
// on saturated random 64 B reads (the reference's queue clogs with bank conflicts); the same
// with per-bank refresh. Known gap (not tested): a read queue and a write queue whose
// descriptors are one page per PC (64 KiB on hbm3's 64 PCs) and conflict bank by bank; taken
// in call order, each read waits for the conflicting write before it (tWTR) and the next
// write for that read, where FR-FCFS batches the reads: fast / reference = 1.6 on hbm3
// (1.45 with all-bank refresh), 0.99 on hbm2e (two pages per PC per 64 KiB descriptor).
//
// What it ignores (hbm_reference.h has the detail; hbm_test.cpp bounds the difference)
//   Burst-level reordering between transfers (transfers are taken in call order; one call
//   finishing before another started at the same time is FCFS, a real FR-FCFS interleaves:
//   the last of them ends at the same time), the tail of a transfer's last page running in
//   one bank group, tRRD_L, data values (the payload's data pointer is never touched;
//   byte enables do not change timing), DMI and debug transport.
//
// Parameters: HbmConfig (hbm_config.h), `systole params` hbm.*.
//
// Use from a DMA engine (initiator):
//   tlm_utils::simple_initiator_socket<Dma> socket;  dma.socket.bind(hbm.socket);
//   (hbm.socket is a multi_passthrough_target_socket: every DMA queue binds to it)
//   tlm::tlm_generic_payload p;  p.set_command(tlm::TLM_READ_COMMAND);
//   p.set_address(addr);  p.set_data_length(bytes);  p.set_data_ptr(buf);
//   p.set_streaming_width(bytes);
//   sc_core::sc_time delay = local_offset;   // LT: the transfer is issued at now + delay
//   socket->b_transport(p, delay);           // returns at once
//   // now + delay = time the last byte has crossed the HBM data bus; wait(delay) or keep
//   // it in a quantum keeper. For a strided tile add an HbmChunksExtension (the chunks
//   // then replace address/length, which should hold the first chunk and the total).
#pragma once

#include <tlm_utils/multi_passthrough_target_socket.h>
#include <cstdint>
#include <systemc>
#include <tlm>
#include <vector>

#include "base/divider.h"
#include "models/hbm/hbm_config.h"
#include "models/hbm/hbm_stats.h"

namespace systole {

struct HbmChunk {
  std::uint64_t address = 0;  // bytes
  std::uint64_t bytes = 0;
};

// Optional extension: the transaction moves these chunks (in order) instead of the single
// range [address, address + data_length).
class HbmChunksExtension : public tlm::tlm_extension<HbmChunksExtension> {
 public:
  std::vector<HbmChunk> chunks;

  // count chunks of chunk_bytes, the i-th at base + i x stride_bytes.
  static std::vector<HbmChunk> Strided(std::uint64_t base, std::uint64_t chunk_bytes,
                                       std::uint64_t stride_bytes, std::uint64_t count);
  tlm::tlm_extension_base* clone() const override;
  void copy_from(const tlm::tlm_extension_base& other) override;
};

// The fast timing model (plain C++; Hbm wraps it). Times are absolute picoseconds.
class HbmFastModel {
 public:
  explicit HbmFastModel(const HbmConfig& config);

  // Completion time of a transfer arriving at arrival_ps. Throws std::out_of_range when the
  // range passes the capacity.
  std::uint64_t Access(std::uint64_t arrival_ps, std::uint64_t address, std::uint64_t bytes,
                       bool is_write);
  std::uint64_t AccessChunks(std::uint64_t arrival_ps, const std::vector<HbmChunk>& chunks,
                             bool is_write);

  HbmStats stats() const;  // refreshes = refresh windows started before each PC's last use
  const HbmConfig& config() const { return config_; }

 private:
  struct Bank {
    bool open = false;
    std::uint64_t row = 0;
    std::uint64_t col_ready_ps = 0;
    std::uint64_t pre_ready_ps = 0;
    std::uint64_t next_act_ps = 0;
    std::uint64_t last_use_ps = 0;  // last ACT or hit (per-bank refresh picks the latest)
  };
  struct Span {  // [from, to): between two refresh window starts; quiet after quiet_from
    std::uint64_t from = 1, to = 0, quiet_from = 0, started = 0;
  };
  struct Pc {
    Span span;  // refresh windows around the last time asked about
    std::uint64_t act_clock_ps = 0;
    std::uint64_t bus_clock_ps = 0;
    std::uint64_t last_rd_end_ps = 0;
    std::uint64_t last_wr_end_ps = 0;
    std::uint64_t last_wr_bank_group = 0;
    bool wrote = false;
    bool read = false;
    std::uint64_t refreshes_seen = 0;
    std::uint64_t last_done_ps = 0;
    std::vector<Bank> banks;
    // Per-bank refresh: due time of the next REFsb, position in the round, banks done.
    std::uint64_t next_refpb_ps = 0;
    std::uint64_t round_slot = 0;
    std::vector<char> refreshed;
  };

  bool InRange(std::uint64_t address, std::uint64_t bytes) const;
  std::uint64_t Finish(std::uint64_t arrival_ps, std::uint64_t done);
  std::uint64_t Range(std::uint64_t arrival_ps, std::uint64_t address, std::uint64_t bytes,
                      bool is_write);
  // Calls fn(pc, lo, hi) for each PC a byte range touches, in Range's order.
  template <typename Fn>
  void ForEachPcRange(std::uint64_t address, std::uint64_t bytes, Fn&& fn) const;
  // Same result as PcAccess on each of hits[0..count), all single-page row hits on the open
  // page of one bank arriving at t0, in O(1); false (nothing changed) when a refresh could
  // act within them.
  bool PcHitRun(std::uint64_t pc, std::uint64_t t0, const std::uint64_t* bursts,
                std::uint64_t count, std::uint64_t page, bool is_write, std::uint64_t& done);
  std::uint64_t PcAccess(std::uint64_t pc, std::uint64_t t0, std::uint64_t lo, std::uint64_t hi,
                         bool is_write);
  std::uint64_t RefreshesStarted(std::uint64_t pc, std::uint64_t t);
  std::uint64_t AfterBlackout(std::uint64_t pc, std::uint64_t t);
  std::uint64_t Stretch(std::uint64_t pc, std::uint64_t start, std::uint64_t dur,
                        std::uint64_t reopen_ps);
  // Issues the per-bank refreshes of a PC due by `until`; the transfer about to start wants
  // `count` banks from `first_bank` on (cyclically).
  void RefreshBanks(std::uint64_t pc, std::uint64_t until, std::uint64_t first_bank,
                    std::uint64_t count);

  HbmConfig config_;
  HbmTiming t_;
  std::uint64_t burst_bytes_, banks_;
  Divider burst_div_, row_div_, banks_div_, groups_div_, gran_div_, pcs_div_;
  std::uint64_t act_interval_ps_;
  bool all_bank_refresh_;  // refresh on, all-bank windows
  bool per_bank_refresh_;  // refresh on, per-bank REFsb
  std::vector<Pc> pcs_;
  std::vector<std::uint64_t> refresh_offset_ps_;
  HbmStats stats_;
  // AccessChunks scratch: each PC's (lo, hi) ranges in chunk order, the PCs touched.
  std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> per_pc_;
  std::vector<std::uint64_t> touched_pcs_;
  std::vector<std::uint64_t> run_bursts_;
};

class Hbm : public sc_core::sc_module {
 public:
  // Any number of initiators (DMA queues) bind here directly: dma.socket.bind(hbm.socket).
  tlm_utils::multi_passthrough_target_socket<Hbm> socket;

  Hbm(sc_core::sc_module_name name, const HbmConfig& config);

  HbmStats stats() const { return model_.stats(); }
  const HbmConfig& config() const { return model_.config(); }
  double PeakGBps() const { return model_.config().PeakGBps(); }

 private:
  void BTransport(int initiator, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned int TransportDbg(int initiator, tlm::tlm_generic_payload& trans);

  HbmFastModel model_;
  std::vector<HbmChunk> chunks_scratch_;  // BTransport: the chunks of a plain range
};

}  // namespace systole
