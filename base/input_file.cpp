#include "base/input_file.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/text_escape.h"

namespace systole {

std::string ReadInputFile(const std::string& path, const std::string& what,
                          std::uint64_t max_bytes) {
  const std::string name = Printable(path);
  if (path.empty())
    throw InputError(fmt::format("<empty path>: expected the path of the {}", what));
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) {
    throw InputError(fmt::format("{}: cannot open {}: no such file", name, what));
  }
  if (std::filesystem::is_directory(st)) {
    throw InputError(fmt::format("{}: is a directory: expected the {}", name, what));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError(
        fmt::format("{}: cannot open {}: {}", name, what, std::strerror(errno ? errno : EACCES)));
  }
  std::string text;
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      throw InputError(fmt::format("{}: {} is larger than {} bytes: expected a smaller file", name,
                                   what, max_bytes));
    }
  }
  if (in.bad()) throw InputError(fmt::format("{}: cannot read {}", name, what));
  return text;
}

}  // namespace systole
