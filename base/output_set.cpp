#include "base/output_set.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "base/text_escape.h"

namespace systole {

namespace fs = std::filesystem;

namespace {

std::uint64_t Fnv1a64(const std::string& bytes) {
  std::uint64_t h =
      0xcbf29ce484222325ULL;  // FNV offset basis (http://www.isthe.com/chongo/tech/comp/fnv/)
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;  // FNV-1a 64-bit prime
  }
  return h;
}

// The pid in a "...<marker><pid>" name, or 0.
pid_t PidAfter(const std::string& name, const std::string& marker) {
  const auto pos = name.rfind(marker);
  if (pos == std::string::npos) return 0;
  const std::string digits = name.substr(pos + marker.size());
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return static_cast<pid_t>(std::stol(digits));
}

bool ProcessGone(pid_t pid) {
  return pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH;
}

void WriteFlushed(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw InputError(fmt::format("{}: cannot create output file", Printable(path.string())));
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.flush();
  if (!out)
    throw InputError(fmt::format("{}: write failed (disk full?)", Printable(path.string())));
}

// Removes leftovers of runs that died: staging directories beside `target` and temporary
// files inside it, when the process named in them no longer exists.
void RemoveStale(const fs::path& target) {
  std::error_code ec;
  const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string staging_prefix = "." + target.filename().string() + ".staging.";
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(staging_prefix, 0) == 0 && ProcessGone(PidAfter(name, ".staging."))) {
      fs::remove_all(entry.path(), ec);
    }
  }
  if (!fs::is_directory(target, ec)) return;
  for (const auto& entry : fs::directory_iterator(target, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp.") != std::string::npos && ProcessGone(PidAfter(name, ".tmp."))) {
      fs::remove(entry.path(), ec);
    }
  }
}

}  // namespace

std::string OutputSet::Manifest() const {
  std::string out = "# Systole output set: file, size_bytes, fnv1a64 (written last)\n";
  for (const auto& [name, content] : files_) {
    out += fmt::format("{} {} {:016x}\n", name, content.size(), Fnv1a64(content));
  }
  return out;
}

void OutputSet::Publish() const {
  const fs::path target = fs::path(dir_).lexically_normal();
  const std::string shown = Printable(dir_);
  std::error_code ec;
  fs::path clean = target;
  if (clean.filename().empty()) clean = clean.parent_path();  // "out/" -> "out"
  if (clean.empty() || clean.filename() == "." || clean.filename() == "..") {
    clean = fs::absolute(clean, ec).lexically_normal();
    if (clean.filename().empty()) clean = clean.parent_path();
  }
  if (fs::exists(clean, ec) && !fs::is_directory(clean, ec)) {
    throw InputError(
        fmt::format("{}: exists and is not a directory: expected an output directory", shown));
  }
  const fs::path parent = clean.parent_path().empty() ? fs::path(".") : clean.parent_path();
  fs::create_directories(parent, ec);
  if (ec) {
    throw InputError(fmt::format("{}: cannot create output directory: {}", shown, ec.message()));
  }
  RemoveStale(clean);
  const fs::path staging =
      parent / ("." + clean.filename().string() + ".staging." + std::to_string(::getpid()));
  fs::remove_all(staging, ec);
  try {
    if (!fs::create_directory(staging, ec) || ec) {
      throw InputError(fmt::format("{}: cannot create a staging directory beside it: {}", shown,
                                   ec ? ec.message() : "exists"));
    }
    for (const auto& [name, content] : files_) WriteFlushed(staging / name, content);
    WriteFlushed(staging / kManifestName, Manifest());
    if (!fs::exists(clean, ec)) {
      fs::rename(staging, clean, ec);
      if (ec) {
        throw InputError(
            fmt::format("{}: cannot move the finished set into place: {}", shown, ec.message()));
      }
      return;
    }
    // The target exists: check every destination before touching any.
    for (const auto& [name, content] : files_) {
      if (fs::is_directory(clean / name, ec)) {
        throw InputError(fmt::format("{}: is a directory: cannot write the output file there",
                                     Printable((clean / name).string())));
      }
    }
    if (fs::is_directory(clean / kManifestName, ec)) {
      throw InputError(fmt::format("{}: is a directory: cannot write the output manifest there",
                                   Printable((clean / kManifestName).string())));
    }
    fs::remove(clean / kManifestName, ec);
    if (ec) {
      throw InputError(fmt::format("{}: cannot replace the manifest: {}",
                                   Printable((clean / kManifestName).string()), ec.message()));
    }
    for (const auto& [name, content] : files_) {
      fs::rename(staging / name, clean / name, ec);
      if (ec) {
        throw InputError(fmt::format("{}: cannot move the output file into place: {}",
                                     Printable((clean / name).string()), ec.message()));
      }
    }
    fs::rename(staging / kManifestName, clean / kManifestName, ec);
    if (ec) {
      throw InputError(fmt::format("{}: cannot move the manifest into place: {}",
                                   Printable((clean / kManifestName).string()), ec.message()));
    }
    fs::remove_all(staging, ec);
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
}

bool OutputSetComplete(const std::string& dir) {
  std::ifstream in(fs::path(dir) / kManifestName, std::ios::binary);
  if (!in) return false;
  std::string line;
  bool any = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, digest;
    std::uint64_t size = 0;
    if (!(fields >> name >> size >> digest)) return false;
    std::ifstream file(fs::path(dir) / name, std::ios::binary);
    if (!file) return false;
    std::ostringstream bytes;
    bytes << file.rdbuf();
    if (bytes.str().size() != size || fmt::format("{:016x}", Fnv1a64(bytes.str())) != digest) {
      return false;
    }
    any = true;
  }
  return any;
}

}  // namespace systole
