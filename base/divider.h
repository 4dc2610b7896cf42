// Unsigned division by a divisor fixed at construction: a shift when it is a power of two
// (the usual case for bank, burst, row and port sizes), else a hardware division. Timing
// models divide addresses and sizes on every transaction, where a 64-bit `div` costs tens
// of cycles.
#pragma once

#include <cstdint>

namespace systole {

struct Divider {
  std::uint64_t d = 1;
  int shift = 0;  // -1: not a power of two

  explicit Divider(std::uint64_t divisor = 1) : d(divisor), shift(-1) {
    if (divisor != 0 && (divisor & (divisor - 1)) == 0) shift = __builtin_ctzll(divisor);
  }
  std::uint64_t Div(std::uint64_t x) const { return shift >= 0 ? x >> shift : x / d; }
  std::uint64_t Mod(std::uint64_t x) const { return x - Div(x) * d; }
  std::uint64_t CeilDiv(std::uint64_t x) const { return x == 0 ? 0 : Div(x - 1) + 1; }
};

}  // namespace systole
