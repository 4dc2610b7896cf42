// Runs commands of this binary as child processes, up to N at once, collecting each one's
// standard output and error and exit status (one SystemC kernel per process, so parallel
// simulations are parallel processes). A child never outlives the pool's process: it is
// killed when the parent dies (kill -9 included). Used by `systole sweep` and `compare`.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace systole {

struct ChildResult {
  std::size_t task = 0;  // index into the argument lists
  int exit_code = 0;     // 128 + signal when killed by one
  std::string out;
  std::string err;
  double wall_s = 0;
};

// Runs `binary args...` for every entry of tasks, at most jobs at once; on_done is called in
// the pool's thread, in completion order.
void RunProcessPool(const std::string& binary, const std::vector<std::vector<std::string>>& tasks,
                    unsigned jobs, const std::function<void(const ChildResult&)>& on_done);

// The path of the running systole binary.
std::string SelfBinary();

// The last non-empty line of a child's stderr, without the "systole: error: " prefix.
std::string LastErrorLine(const std::string& err);

}  // namespace systole
