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
//   Event-driven: one SC_METHOD that re-triggers itself (no clock). An instruction's
//   completion time is known when it issues and is published on the CompletionBoard, so
//   completions cost no events: an engine waiting for an issued instruction sleeps until
//   its completion time, and one waiting for an instruction not yet issued sleeps on the
//   owner engine's "issued" event. So a run costs about one event per instruction.
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

// Shared completion state of all instructions of a program (indexed by global id).
struct CompletionBoard {
  // What an engine reads of an awaited instruction, together in one cache line.
  struct Entry {
    sc_core::sc_time complete_at;  // valid once issued
    // One engine that sleeps until this instruction issues (its wake event), so the owner
    // wakes just that engine; a second waiter falls back to the owner's engine_event.
    sc_core::sc_event* waiter = nullptr;
    std::uint32_t owner = 0;  // engine slot of the instruction
    bool issued = false;
  };
  std::vector<Entry> entries;
  std::vector<sc_core::sc_event*> engine_event;  // per engine slot: "issued something"
};

// One engine's instruction stream: global ids in issue order, and the waits of stream[i]
// as waits[wait_begin[i] .. wait_begin[i + 1]) (copied out of the instructions so the
// issue loop reads them sequentially).
struct EngineStream {
  std::vector<std::uint32_t> ids;
  std::vector<std::uint32_t> wait_begin{0};
  std::vector<std::uint32_t> waits;
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
  Engine(sc_core::sc_module_name name, std::uint32_t slot, EngineCostModel& cost,
         const Program& program, EngineStream stream, CompletionBoard& board,
         std::uint32_t max_outstanding, bool record);

  const std::vector<InstrRecord>& records() const { return records_; }
  sc_core::sc_time busy_time() const { return busy_; }
  sc_core::sc_time last_completion() const { return last_completion_; }
  std::uint64_t issued() const { return next_; }

 private:
  void Wake();

  std::uint32_t slot_;
  EngineCostModel& cost_;
  const Program& program_;
  std::vector<std::uint32_t> stream_;      // global ids, in issue order
  std::vector<std::uint32_t> wait_begin_;  // as EngineStream
  std::vector<std::uint32_t> waits_;
  CompletionBoard& board_;
  std::uint32_t max_outstanding_;
  bool record_;

  std::size_t next_ = 0;
  sc_core::sc_time free_at_;                 // occupancy end of the last issued instruction
  std::vector<sc_core::sc_time> in_flight_;  // completion times, sorted
  sc_core::sc_event issued_;
  sc_core::sc_event wake_;  // targeted wake-up from the owner of an awaited instruction
  sc_core::sc_time busy_;
  sc_core::sc_time last_completion_;
  std::vector<InstrRecord> records_;
};

}  // namespace systole
