// A loosely-timed TLM-2.0 target that any number of initiators bind to directly.
//
// The memories of a core (scratchpad, accumulator, the bandwidth-pipe HBM) take one
// b_transport per tile instruction. Implementing tlm_fw_transport_if on the memory and
// binding a plain tlm_target_socket to it sends each call straight to the memory, without
// the per-binding callback objects of a multi_passthrough_target_socket (about a tenth of
// a kernel's simulation time went there). Derived classes implement b_transport; the
// approximately-timed, DMI and debug paths are not supported (no data is stored).
#pragma once

#include <systemc>
#include <tlm>

namespace systole {

class LtTarget : public tlm::tlm_fw_transport_if<> {
 public:
  // Bind initiators here: initiator.socket.bind(target.socket).
  using Socket =
      tlm::tlm_target_socket<32, tlm::tlm_base_protocol_types, 0, sc_core::SC_ZERO_OR_MORE_BOUND>;

  tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& /*phase*/,
                                     sc_core::sc_time& /*delay*/) override {
    trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);  // loosely timed only
    return tlm::TLM_COMPLETED;
  }
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& /*trans*/, tlm::tlm_dmi& /*dmi*/) override {
    return false;
  }
  unsigned int transport_dbg(tlm::tlm_generic_payload& /*trans*/) override { return 0; }
};

}  // namespace systole
