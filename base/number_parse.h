// One grammar for every number a user types: -p values, --set values, --shape, numeric CLI
// options, and numbers given as text anywhere else.
//
//   integer  = "0" | [ "-" ] nonzero-digit { digit }
//   real     = [ "-" ] digits [ "." digits ] [ ( "e" | "E" ) [ "+" | "-" ] digits ]
//
// Rejected on purpose (each with a reason): empty text, leading or trailing whitespace, a
// leading '+', hexadecimal and hex floats ("0x1p1"), leading zeros ("064"), negative zero
// ("-0", "-0.0"), digit separators, "inf"/"nan", trailing garbage ("12abc"), and any control
// byte (an embedded newline). Integers must fit 64 bits. A real that underflows to a
// subnormal or to zero is accepted (5e-324 is a valid double); one that overflows is not.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace systole {

// Each returns true and sets *out when `text` is a number in the grammar above; otherwise
// returns false and sets *why to a short reason ("has a leading '+'", ...).
bool ParseInteger(std::string_view text, std::int64_t* out, std::string* why);
bool ParseUnsigned(std::string_view text, std::uint64_t* out, std::string* why);
bool ParseReal(std::string_view text, double* out, std::string* why);

// True when `text` starts like a number (a digit, or a sign, '.' followed by a digit): text
// the user meant as a number, which must then follow the grammar.
bool LooksNumeric(std::string_view text);

}  // namespace systole
