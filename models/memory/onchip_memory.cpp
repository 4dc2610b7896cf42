#include "models/memory/onchip_memory.h"

#include <algorithm>

namespace systole {

OnChipMemory::OnChipMemory(sc_core::sc_module_name name, const OnChipMemoryConfig& config,
                           double clock_ghz)
    : sc_core::sc_module(name),
      socket("socket"),
      config_(config),
      cycle_(1000.0 / clock_ghz, sc_core::SC_PS),
      overhead_(config.access_overhead_cycles * cycle_),
      bank_bytes_(config.partition_bytes / std::max<std::uint64_t>(1, config.banks)),
      bytes_per_cycle_(config.bytes_per_cycle_per_partition),
      banks_(std::max<std::uint64_t>(1, config.banks)) {
  socket.bind(*this);
}

std::uint64_t OnChipMemory::AccessCycles(std::uint64_t bytes_per_partition) const {
  return bytes_per_cycle_.CeilDiv(bytes_per_partition);
}

void OnChipMemory::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  RegionExtension* ext = nullptr;
  trans.get_extension(ext);
  const OnChipRegion& r = ext->region;
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const sc_core::sc_time requested = now + delay;

  std::size_t first_bank = 0;
  std::size_t last_bank = 0;
  if (banks_.size() > 1 && r.bytes_per_partition > 0) {
    first_bank = static_cast<std::size_t>(bank_bytes_.Div(r.offset_bytes));
    last_bank =
        static_cast<std::size_t>(bank_bytes_.Div(r.offset_bytes + r.bytes_per_partition - 1));
    last_bank = std::min(last_bank, banks_.size() - 1);
    first_bank = std::min(first_bank, last_bank);
  }
  const std::uint64_t cycles = AccessCycles(r.bytes_per_partition);
  const sc_core::sc_time duration =
      access_time_.Get(cycles, [this](std::uint64_t c) { return static_cast<double>(c) * cycle_; });
  // All touched banks must be free for the same interval: reserve in the first bank,
  // then push the start until every other bank agrees (banks are rarely more than two).
  sc_core::sc_time start = requested;
  if (first_bank == last_bank) {
    start = banks_[first_bank].Reserve(requested, duration, now);
  } else {
    for (;;) {
      sc_core::sc_time agreed = start;
      for (std::size_t b = first_bank; b <= last_bank; ++b) {
        ReservationCalendar copy = banks_[b];
        agreed = std::max(agreed, copy.Reserve(agreed, duration, now));
      }
      if (agreed == start) break;
      start = agreed;
    }
    for (std::size_t b = first_bank; b <= last_bank; ++b) banks_[b].Reserve(start, duration, now);
  }
  const sc_core::sc_time end = start + duration;

  stats_.busy_cycles += cycles;
  if (start != requested) {
    // Rounded to the nearest cycle, as integers (times are whole resolution units).
    const std::uint64_t wait = (start - requested).value(), cycle = cycle_.value();
    stats_.contention_cycles += (2 * wait + cycle) / (2 * cycle);
  }
  if (trans.is_write()) {
    stats_.writes += 1;
    stats_.write_bytes += r.bytes();
  } else {
    stats_.reads += 1;
    stats_.read_bytes += r.bytes();
  }
  delay = end + overhead_ - now;
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

OnChipAccessor::OnChipAccessor() : extension_(new RegionExtension) {
  payload_.set_extension(extension_);
  payload_.set_streaming_width(0);
}

OnChipAccessor::~OnChipAccessor() {
  payload_.clear_extension(extension_);
  delete extension_;
}

void OnChipAccessor::Prepare(const OnChipRegion& region, bool write) {
  extension_->region = region;
  payload_.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  payload_.set_address(region.offset_bytes);
  payload_.set_data_length(static_cast<unsigned int>(std::min<std::uint64_t>(region.bytes(), ~0u)));
  payload_.set_data_ptr(nullptr);
  payload_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
}

}  // namespace systole
