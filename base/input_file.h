// Reading a user-named input file with the checks every input surface needs: a directory,
// a missing or unreadable path, or a file past a size bound is refused with one InputError
// line naming the path and what was expected, before any parser sees the bytes.
#pragma once

#include <cstdint>
#include <string>

namespace systole {

// Configuration files (architecture and workload TOML, SCALE-Sim .cfg) are a few KB; 1 MiB
// leaves room for comments while keeping a parser's work and memory small.
inline constexpr std::uint64_t kMaxConfigFileBytes = std::uint64_t{1} << 20;

// Returns the whole file. `what` names the file's role in messages ("architecture file").
std::string ReadInputFile(const std::string& path, const std::string& what,
                          std::uint64_t max_bytes);

}  // namespace systole
