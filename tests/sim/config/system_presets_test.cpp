// The scale-out presets load, keep their chip presets unchanged, and their [system] gives
// the public figures cited in their comments.
#include <gtest/gtest.h>

#include "sim/config/arch_config.h"

namespace systole {
namespace {

ArchConfig Preset(const std::string& name, std::vector<std::string> p = {}) {
  return LoadArchConfig(std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/" + name + ".toml", p);
}

TEST(SystemPresets, Trn1And1n) {
  const ArchConfig chip = Preset("trainium1");
  for (const char* name : {"trn1-32xlarge", "trn1n-32xlarge"}) {
    const ArchConfig a = Preset(name);
    EXPECT_DOUBLE_EQ(a.PeakFlopsPerNs(), chip.PeakFlopsPerNs()) << name;
    EXPECT_DOUBLE_EQ(a.hbm.PeakGBps(), chip.hbm.PeakGBps()) << name;
    EXPECT_EQ(a.cores * a.system.chips(), 32u) << name;  // 16 chips x 2 NeuronCore-v2
    EXPECT_EQ(a.system.topology, ChipTopology::kTorus2d);
    EXPECT_EQ(a.system.TorusX(), 4u);  // 4 x 4 = the 4-D hypercube of 16
    // NeuronLink-v2: 384 GB/s per chip, both directions summed.
    EXPECT_DOUBLE_EQ(2 * a.system.ChipInjectionGBps(), 384.0) << name;
  }
  // EFA: 800 Gbit/s (trn1) and 1600 Gbit/s (trn1n) per instance.
  EXPECT_DOUBLE_EQ(Preset("trn1-32xlarge").system.node_bandwidth_gbps * 8, 800.0);
  EXPECT_DOUBLE_EQ(Preset("trn1n-32xlarge").system.node_bandwidth_gbps * 8, 1600.0);
  EXPECT_EQ(Preset("trn1-32xlarge", {"system.nodes=32"}).system.chips(), 512u);
}

TEST(SystemPresets, TpuV5ePod) {
  const ArchConfig a = Preset("tpu-v5e-pod");
  EXPECT_DOUBLE_EQ(a.PeakFlopsPerNs(), Preset("tpu-v5e").PeakFlopsPerNs());
  EXPECT_EQ(a.system.chips(), 256u);
  EXPECT_EQ(a.system.TorusX(), 16u);
  EXPECT_DOUBLE_EQ(2 * a.system.ChipInjectionGBps(), 400.0);       // ICI, bidirectional per chip
  EXPECT_DOUBLE_EQ(a.system.node_bandwidth_gbps * 8 / 1000, 6.4);  // DCN Tbit/s per pod
}

TEST(SystemPresets, SingleChipDefaultsUnchanged) {
  const ArchConfig a = Preset("systole-base");
  EXPECT_EQ(a.system.chips(), 1u);
  EXPECT_EQ(a.cores * a.system.chips(), a.cores);
}

}  // namespace
}  // namespace systole
