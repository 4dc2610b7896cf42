// SCALE-Sim inputs: the bytes up to the first NUL are the .cfg text, the rest the topology
// CSV (conv, or gemm when the first byte of the topology is odd). Parsed layers pass the
// CLI's work check (CheckLayerWork); those of up to 1e6 array steps are then simulated with
// the fast engine.
#include <string>

#include "fuzz/fuzz_util.h"
#include "workloads/scalesim/scalesim_input.h"
#include "workloads/scalesim/scalesim_run.h"
#include "workloads/scalesim/scalesim_sim.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace systole::scalesim;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const auto nul = bytes.find('\0');
  const std::string cfg_text = bytes.substr(0, nul);
  const std::string topo = nul == std::string::npos ? "" : bytes.substr(nul + 1);
  const bool gemm = !topo.empty() && (static_cast<unsigned char>(topo[0]) & 1) != 0;
  systole::fuzz::ExpectCleanOutcome([&] {
    const Config cfg = ParseConfigText(cfg_text, "fuzz.cfg");
    const std::vector<Layer> layers = ParseTopologyText(topo, gemm, "fuzz.csv");
    for (std::size_t i = 0; i < layers.size(); ++i) {
      CheckLayerWork(cfg, layers[i], i, "fuzz.cfg", "fuzz.csv");
      // Layers the CLI accepts can take seconds (more under ASan): simulate the small ones,
      // so each input stays well under the fuzzer's timeout.
      if (LayerSteps(cfg, layers[i]) > 1e6) continue;
      (void)SimulateLayer(cfg, layers[i], Engine::kFast);
    }
  });
  return 0;
}
