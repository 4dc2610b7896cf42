#include "base/dtype.h"

#include "base/error.h"

namespace systole {

const char* DtypeName(Dtype dtype) {
  switch (dtype) {
    case Dtype::kFp32:
      return "fp32";
    case Dtype::kBf16:
      return "bf16";
    case Dtype::kFp16:
      return "fp16";
    case Dtype::kFp8:
      return "fp8";
  }
  return "?";
}

Dtype ParseDtype(const std::string& text) {
  for (Dtype d : {Dtype::kFp32, Dtype::kBf16, Dtype::kFp16, Dtype::kFp8}) {
    if (text == DtypeName(d)) return d;
  }
  throw InputError("unknown dtype '" + text + "': expected one of fp32, bf16, fp16, fp8");
}

}  // namespace systole
