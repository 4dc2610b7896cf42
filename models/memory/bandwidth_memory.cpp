#include "models/memory/bandwidth_memory.h"

#include <algorithm>

#include "models/memory/hbm_pattern.h"

namespace systole {

BandwidthMemory::BandwidthMemory(sc_core::sc_module_name name, double bandwidth_gbps,
                                 double latency_ns)
    : sc_core::sc_module(name),
      socket("socket"),
      ps_per_byte_(1000.0 / bandwidth_gbps),
      latency_(latency_ns, sc_core::SC_NS) {
  socket.bind(*this);
}

void BandwidthMemory::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  HbmPatternExtension* ext = nullptr;
  trans.get_extension(ext);
  const std::uint64_t bytes = ext ? ext->pattern.bytes() : trans.get_data_length();
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const sc_core::sc_time data = data_time_.Get(bytes, [this](std::uint64_t b) {
    return sc_core::sc_time(static_cast<double>(b) * ps_per_byte_, sc_core::SC_PS);
  });
  const sc_core::sc_time start = path_.Reserve(now + delay, data, now);
  stats_.busy += data;
  (trans.is_write() ? stats_.write_bytes : stats_.read_bytes) += bytes;
  delay = start + data + latency_ - now;
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace systole
