#include "base/toml_guard.h"

#include <fmt/format.h>

#include "base/error.h"
#include "base/text_escape.h"

namespace systole {

void CheckTomlBounds(std::string_view text, const std::string& source, std::uint64_t max_bytes) {
  if (text.size() > max_bytes) {
    throw InputError(
        fmt::format("{}: TOML text is larger than {} bytes: expected a configuration "
                    "file",
                    Printable(source), max_bytes));
  }
  int brackets = 0;  // open [ and { outside strings
  int dots = 0;      // '.' in the key being read (reset at '=', ',', newline and brackets)
  std::int64_t line = 1;
  std::size_t i = 0;
  const std::size_t n = text.size();
  auto starts = [&](std::string_view s) { return text.substr(i, s.size()) == s; };
  while (i < n) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      dots = 0;
      ++i;
    } else if (c == '#') {
      while (i < n && text[i] != '\n') ++i;
    } else if (starts("\"\"\"") || starts("'''")) {
      const std::string_view delim = text.substr(i, 3);
      i += 3;
      while (i < n && !starts(delim)) {
        if (text[i] == '\n') ++line;
        if (delim[0] == '"' && text[i] == '\\') ++i;
        ++i;
      }
      i += 3;
    } else if (c == '"' || c == '\'') {
      ++i;
      while (i < n && text[i] != c && text[i] != '\n') {
        if (c == '"' && text[i] == '\\') ++i;
        ++i;
      }
      ++i;
    } else {
      if (c == '[' || c == '{') {
        ++brackets;
        dots = 0;
      } else if (c == ']' || c == '}') {
        if (brackets > 0) --brackets;
        dots = 0;
      } else if (c == '=' || c == ',') {
        dots = 0;
      } else if (c == '.') {
        ++dots;
      }
      if (brackets + dots > kMaxTomlDepth) {
        throw InputError(
            fmt::format("{}: TOML nesting is deeper than {} levels (tables, dotted "
                        "keys and arrays): expected a shallow configuration",
                        Where(Printable(source), line), kMaxTomlDepth));
      }
      ++i;
    }
  }
}

}  // namespace systole
