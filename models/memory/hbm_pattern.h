// The TLM-2.0 extension that carries a DMA's HBM access pattern (a list of equal,
// equally strided contiguous chunks) with one transaction, so one DMA instruction is one
// transaction however many chunks it has. Targets: BandwidthMemory (below, the roofline
// fidelity) and the banked HBM model (models/hbm/).
#pragma once

#include <cstdint>
#include <tlm>

#include "models/core/program.h"

namespace systole {

struct HbmPatternExtension : tlm::tlm_extension<HbmPatternExtension> {
  HbmPattern pattern;
  tlm::tlm_extension_base* clone() const override { return new HbmPatternExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    pattern = static_cast<const HbmPatternExtension&>(other).pattern;
  }
};

}  // namespace systole
