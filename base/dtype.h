// Element datatypes shared by workloads (tensor shapes, bytes) and models (traffic, rates).
#pragma once

#include <cstdint>
#include <string>

namespace systole {

enum class Dtype : std::uint8_t { kFp32, kBf16, kFp16, kFp8 };

inline std::uint32_t DtypeBytes(Dtype dtype) {
  switch (dtype) {
    case Dtype::kFp32:
      return 4;
    case Dtype::kBf16:
    case Dtype::kFp16:
      return 2;
    case Dtype::kFp8:
      return 1;
  }
  return 0;
}
const char* DtypeName(Dtype dtype);
Dtype ParseDtype(const std::string& text);  // "fp32", "bf16", ...; InputError otherwise

}  // namespace systole
