#include "base/error.h"

namespace systole {

std::string Where(const std::string& file, std::int64_t line) {
  std::string out = file.empty() ? std::string("<input>") : file;
  if (line > 0) out += ":" + std::to_string(line);
  return out;
}

}  // namespace systole
