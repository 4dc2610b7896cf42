// Fold-level fast paths for the SCALE-Sim emulation (see scalesim_sim.cpp for semantics).
#include "workloads/scalesim/scalesim_engine.h"

namespace systole::scalesim {

bool SimulateFast(const Config& cfg, const Layer& layer, LayerResult* out) {
  (void)cfg;
  (void)layer;
  (void)out;
  return false;
}

}  // namespace systole::scalesim
