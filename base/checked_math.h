// Overflow-checked 64-bit arithmetic for cycle and traffic counts.
//
// Every count Systole reports is an unsigned 64-bit integer. Shapes come from user input,
// so products such as M*K*N or folds*cycles_per_fold can exceed 2^64; these helpers throw
// InputError naming what overflowed instead of wrapping silently.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"

namespace systole {

// An overflow caused by user-given sizes. The run drivers catch it and add the file, keys
// and values the sizes came from (the helpers below know only what overflowed).
class OverflowError : public InputError {
 public:
  using InputError::InputError;
};

inline std::uint64_t CheckedMul(std::uint64_t a, std::uint64_t b, const char* what) {
  std::uint64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) {
    throw OverflowError(std::string(what) + " overflows 64 bits");
  }
  return out;
}

inline std::uint64_t CheckedAdd(std::uint64_t a, std::uint64_t b, const char* what) {
  std::uint64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) {
    throw OverflowError(std::string(what) + " overflows 64 bits");
  }
  return out;
}

inline std::uint64_t CeilDiv(std::uint64_t a, std::uint64_t b) { return a / b + (a % b != 0); }

}  // namespace systole
