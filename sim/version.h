// The version of this build: the project version and, when the build was configured in a git
// checkout, the commit it was configured at. Both are recorded in every report and sweep row.
#pragma once

#include <string>

namespace systole {

// "0.1.0" or "0.1.0 (git 1a2b3c4d)".
std::string SystoleVersion();
// The commit alone ("" when unknown).
std::string SystoleGitCommit();

}  // namespace systole
