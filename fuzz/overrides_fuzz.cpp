// -p KEY=VALUE and --set KEY=VALUE: the bytes up to the first NUL are one -p item, the rest
// one --set item applied to the gpt2-small preset.
#include <string>

#include "fuzz/fuzz_util.h"
#include "sim/config/arch_config.h"
#include "workloads/zoo/workload_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const auto nul = bytes.find('\0');
  const std::string p = bytes.substr(0, nul);
  const std::string set = nul == std::string::npos ? "" : bytes.substr(nul + 1);
  systole::fuzz::ExpectCleanOutcome([&] {
    const systole::ArchConfig config = systole::LoadArchConfig("", {p});
    (void)systole::ResolvedArchToml(config);
  });
  systole::fuzz::ExpectCleanOutcome(
      [&] { (void)systole::LoadWorkloadConfig(systole::WorkloadPresetPath("gpt2-small"), {set}); });
  return 0;
}
