// Publishing a set of output files (report.json, ops.csv, ...) into a directory as a unit.
//
// OutputSet collects every file of a run in memory-backed order, then Publish():
//   1. removes what earlier runs left behind: staging directories beside the target whose
//      process is gone, and "*.tmp.<pid>" files of dead processes inside it;
//   2. writes the whole set into a staging directory beside the target
//      ("<parent>/.<name>.staging.<pid>"), flushed, and checks every destination in the
//      target is not a directory (so a failure leaves the previous set untouched);
//   3. when the target does not exist, renames the staging directory onto it (one atomic
//      step); otherwise removes the target's manifest (marking its set as incomplete),
//      renames each file into place and writes the manifest last.
// The manifest, MANIFEST.txt, lists each file with its size in bytes and FNV-1a 64-bit
// digest: a set with a manifest whose entries match is finished; a set without one is stale
// or partial. Any failure removes the staging directory and throws InputError naming the path.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace systole {

inline constexpr const char* kManifestName = "MANIFEST.txt";

class OutputSet {
 public:
  explicit OutputSet(std::string dir) : dir_(std::move(dir)) {}
  void Add(std::string name, std::string content) {
    files_.emplace_back(std::move(name), std::move(content));
  }
  void Publish() const;

  // The manifest text for the files added so far (what Publish writes last).
  std::string Manifest() const;

 private:
  std::string dir_;
  std::vector<std::pair<std::string, std::string>> files_;
};

// True when `dir` holds a manifest and every file it lists has the listed size and digest.
bool OutputSetComplete(const std::string& dir);

}  // namespace systole
