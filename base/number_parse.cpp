#include "base/number_parse.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace systole {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Common lexical checks; returns "" when `text` may be a number.
std::string LexicalProblem(std::string_view text) {
  if (text.empty()) return "is empty";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "contains a control character";
  }
  if (text.front() == ' ' || text.back() == ' ') return "has leading or trailing spaces";
  if (text.front() == '+') return "has a leading '+'";
  const std::string_view body = text.front() == '-' ? text.substr(1) : text;
  if (body.size() >= 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
    return "is hexadecimal (only decimal numbers are accepted)";
  }
  if (body.empty() || !IsDigit(body.front())) return "is not a decimal number";
  if (body.size() >= 2 && body[0] == '0' && IsDigit(body[1])) return "has a leading zero";
  return "";
}

}  // namespace

bool LooksNumeric(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (text[i] == '+' || text[i] == '-' || text[i] == ' ')) ++i;
  if (i < text.size() && text[i] == '.') ++i;
  return i < text.size() && IsDigit(text[i]);
}

bool ParseInteger(std::string_view text, std::int64_t* out, std::string* why) {
  std::string problem = LexicalProblem(text);
  if (problem.empty()) {
    const std::string_view body = text.front() == '-' ? text.substr(1) : text;
    for (char c : body) {
      if (!IsDigit(c)) {
        problem = "is not an integer";
        break;
      }
    }
    if (problem.empty() && text == "-0") problem = "is negative zero";
  }
  if (problem.empty()) {
    const std::string s(text);
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == ERANGE) {
      problem = "does not fit a 64-bit integer";
    } else {
      *out = v;
      return true;
    }
  }
  *why = problem;
  return false;
}

bool ParseUnsigned(std::string_view text, std::uint64_t* out, std::string* why) {
  if (!text.empty() && text.front() == '-') {
    std::int64_t ignored = 0;
    if (!ParseInteger(text, &ignored, why)) return false;
    *why = "is negative";
    return false;
  }
  std::string problem = LexicalProblem(text);
  if (problem.empty()) {
    for (char c : text) {
      if (!IsDigit(c)) {
        problem = "is not an integer";
        break;
      }
    }
  }
  if (problem.empty()) {
    const std::string s(text);
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (errno == ERANGE) {
      problem = "does not fit a 64-bit integer";
    } else {
      *out = v;
      return true;
    }
  }
  *why = problem;
  return false;
}

bool ParseReal(std::string_view text, double* out, std::string* why) {
  std::string problem = LexicalProblem(text);
  if (problem.empty()) {
    // digits [ "." digits ] [ e [sign] digits ]
    std::size_t i = text.front() == '-' ? 1 : 0;
    auto digits = [&]() {
      const std::size_t start = i;
      while (i < text.size() && IsDigit(text[i])) ++i;
      return i > start;
    };
    bool ok = digits();
    if (ok && i < text.size() && text[i] == '.') {
      ++i;
      ok = digits();
    }
    if (ok && i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
      ++i;
      if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
      ok = digits();
    }
    if (!ok || i != text.size()) problem = "is not a decimal number";
  }
  if (problem.empty()) {
    const std::string s(text);
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (!std::isfinite(v)) {
      problem = "is too large for a double";
    } else if (v == 0 && text.front() == '-') {
      problem = "is negative zero";
    } else {
      // ERANGE with a finite result is underflow: the nearest double (subnormal or zero)
      // is the value meant.
      *out = v;
      return true;
    }
  }
  *why = problem;
  return false;
}

}  // namespace systole
