// One engine of a core (tensor, vector, scalar or a DMA queue) as a SystemC module.
//
// What it models
//   An in-order engine consuming its own instruction stream. An instruction issues when
//   (a) every instruction it waits for has completed (semaphore waits), (b) the engine is
//   no longer occupied by the previous instruction, and (c) fewer than max_outstanding of
//   its instructions are still in flight. A cost model (EngineCostModel) returns, for the
//   issue time, how long the instruction occupies the engine (its issue interval) and when
//   its results are complete (its latency). Occupancy and latency differ for pipelined
//   engines: a matmul occupies the array while it streams but completes after the drain; a
//   DMA queue overlaps one descriptor's setup latency with the previous one's data.
//   Completion is when dependants may start.
//
//   Event-driven: one SC_METHOD per engine, statically sensitive to the engine's own wake
//   event, and no clock. An instruction's completion time is known when it issues and is
//   published on the CompletionBoard, so completions cost no events. An engine whose head
//   instruction cannot issue computes the earliest time it could (the engine free again,
//   a slot among max_outstanding free, every issued dependency complete). If every
//   dependency has issued, it sleeps until that time. Otherwise it joins the waiter list of
//   one dependency not issued yet (the last listed, usually the last to issue), and that
//   instruction's owner, when it issues it, wakes the waiter directly at max(completion,
//   the waiter's earliest time). So a blocked instruction costs about one wake-up.
//   Same-time order: engines woken at the same time run in SystemC's order; it is
//   deterministic (the same inputs give the same run) but not defined by the engine kind.
//
// What it ignores
//   Instruction fetch and decode, out-of-order issue, semaphore signalling latency.
//
// Parameters
//   max_outstanding   instructions in flight at once (>= 1)
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <systemc>
#include <vector>

#include "models/core/program.h"

namespace systole {

// Timing of one issued instruction, relative to its issue time.
struct IssueTiming {
  sc_core::sc_time occupancy;  // engine busy; the next instruction may issue after this
  sc_core::sc_time latency;    // results complete (>= occupancy)
  // Time the engine counts as busy for statistics when report_busy is set; engines that
  // pipeline transfers (DMA) report their data time here. Otherwise the occupancy.
  bool report_busy = false;
  sc_core::sc_time busy;
};

class EngineCostModel {
 public:
  virtual ~EngineCostModel() = default;
  // Called at issue time (sc_time_stamp()); may reserve shared resources (memories, HBM).
  virtual IssueTiming Issue(const Instruction& instr) = 0;
};

class Engine;

// Shared completion state of all instructions of a program (indexed by global id).
struct CompletionBoard {
  // What an engine reads of an awaited instruction: 16 bytes, four to a cache line.
  struct Entry {
    sc_core::sc_time complete_at = NotIssued();  // NotIssued() until issued
    Engine* waiters = nullptr;  // engines blocked until this issues (linked through Engine)
    bool issued() const { return complete_at.value() != kNotIssued; }
  };
  static constexpr std::uint64_t kNotIssued = ~std::uint64_t{0};  // a time no run reaches
  static sc_core::sc_time NotIssued() { return sc_core::sc_time::from_value(kNotIssued); }
  std::vector<Entry> entries;
};

// Start and end of one instruction, for traces and per-engine statistics.
struct InstrRecord {
  std::uint32_t id = 0;
  sc_core::sc_time issue;
  sc_core::sc_time occupancy_end;
  sc_core::sc_time complete;
};

class Engine : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Engine);
  Engine(sc_core::sc_module_name name, EngineCostModel& cost, const Program& program,
         std::vector<std::uint32_t> stream, CompletionBoard& board, std::uint32_t max_outstanding,
         bool record);

  const std::vector<InstrRecord>& records() const { return records_; }
  sc_core::sc_time busy_time() const { return busy_; }
  sc_core::sc_time last_completion() const { return last_completion_; }
  std::uint64_t issued() const { return next_; }

 private:
  void Wake();
  // Called by the owner of the instruction this engine waits for, when it issues it at `now`.
  void DependencyIssued(sc_core::sc_time now, sc_core::sc_time complete_at);

  EngineCostModel& cost_;
  const Program& program_;
  std::vector<std::uint32_t> stream_;  // global ids, in issue order
  CompletionBoard& board_;
  std::uint32_t max_outstanding_;
  bool record_;

  std::size_t next_ = 0;
  sc_core::sc_time free_at_;                 // occupancy end of the last issued instruction
  std::vector<sc_core::sc_time> in_flight_;  // completion times, sorted
  sc_core::sc_event wake_;                   // the only event this engine's process is sensitive to
  sc_core::sc_time not_before_;    // while blocked: the earliest issue time known to this engine
  Engine* next_waiter_ = nullptr;  // next engine in the same waiter list
  sc_core::sc_time busy_;
  sc_core::sc_time last_completion_;
  std::vector<InstrRecord> records_;
};

}  // namespace systole
