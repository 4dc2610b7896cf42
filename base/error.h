// Error types shared by every Systole module.
//
// InputError is the one way bad user input leaves the simulator: a one-line message that
// names the file, the line (when known), the key or field, and what was expected. The CLI
// prints it and exits with status 2 (kInputErrorExitCode). Internal invariant violations
// use std::logic_error and are bugs.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace systole {

inline constexpr int kInputErrorExitCode = 2;

class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

// "file:line: message" (line omitted when 0), the format of every input error.
std::string Where(const std::string& file, std::int64_t line);

}  // namespace systole
