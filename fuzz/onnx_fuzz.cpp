// ONNX import: the bytes are the .onnx file, imported with the mlp preset's training settings.
#include "fuzz/fuzz_util.h"
#include "workloads/import/onnx_import.h"
#include "workloads/zoo/workload_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const systole::WorkloadConfig settings =
      systole::LoadWorkloadConfig(systole::WorkloadPresetPath("mlp"), {});
  systole::fuzz::TempFile file(data, size, ".onnx");
  systole::fuzz::ExpectCleanOutcome([&] { (void)systole::ImportOnnx(file.path(), settings); });
  return 0;
}
