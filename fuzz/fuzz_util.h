// Shared helpers for the libFuzzer targets under fuzz/ (built by scripts/fuzz.sh with clang
// and -fsanitize=fuzzer,address,undefined; see fuzz/CMakeLists.txt).
//
// Every target feeds its bytes to one input surface and accepts exactly two outcomes: the
// input is valid, or it is refused with systole::InputError. Any other exception, a crash,
// a sanitizer report, a leak or a hang is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "base/error.h"

namespace systole::fuzz {

// A file holding `bytes` for surfaces that read from a path; removed on destruction.
class TempFile {
 public:
  TempFile(const std::uint8_t* data, std::size_t size, const char* suffix) {
    const char* dir = std::getenv("TMPDIR");
    path_ =
        std::string(dir ? dir : "/tmp") + "/systole-fuzz-" + std::to_string(::getpid()) + suffix;
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (f == nullptr) std::abort();
    if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `body`; InputError is the expected refusal, anything else aborts (a finding).
template <typename F>
void ExpectCleanOutcome(F&& body) {
  try {
    body();
  } catch (const InputError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: not an InputError: %s\n", e.what());
    std::abort();
  }
}

}  // namespace systole::fuzz
