// Bounds on TOML text checked BEFORE toml++ parses it.
//
// toml++ (and any walk over the parsed tree) recurses once per nesting level: a dotted table
// header of 50,000 levels ([a.a.a....]) or 50,000 nested inline arrays overflows the stack.
// CheckTomlBounds() scans the text once, without recursion, skipping strings and comments,
// and refuses it when the nesting (brackets plus dotted-key parts at any point) passes
// kMaxTomlDepth or the text passes max_bytes. Real configurations nest 3 or 4 levels.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace systole {

inline constexpr int kMaxTomlDepth = 64;

// Throws InputError "file:line: ..." when a bound is exceeded.
void CheckTomlBounds(std::string_view text, const std::string& source, std::uint64_t max_bytes);

}  // namespace systole
