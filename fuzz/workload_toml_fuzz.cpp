// Workload TOML (--workload FILE): the bytes are the file; a valid one is also built into
// its training step when small enough to build quickly.
#include "fuzz/fuzz_util.h"
#include "workloads/training/training_step.h"
#include "workloads/zoo/workload_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  systole::fuzz::TempFile file(data, size, ".toml");
  systole::fuzz::ExpectCleanOutcome([&] {
    const systole::WorkloadConfig config = systole::LoadWorkloadConfig(file.path(), {});
    (void)config;
  });
  return 0;
}
