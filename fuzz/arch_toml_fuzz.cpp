// Architecture TOML (--arch FILE): the bytes are the file.
#include "fuzz/fuzz_util.h"
#include "sim/config/arch_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  systole::fuzz::TempFile file(data, size, ".toml");
  systole::fuzz::ExpectCleanOutcome([&] {
    const systole::ArchConfig config = systole::LoadArchConfig(file.path(), {});
    (void)systole::ResolvedArchToml(config);
  });
  return 0;
}
