// Chrome trace event format (opens in Perfetto / chrome://tracing) for a core run: one
// track (thread) per engine and DMA queue, one complete ("X") slice per instruction named
// by the kernel's label, from issue to completion. Timestamps are microseconds with
// nanosecond resolution; the output is deterministic.
#pragma once

#include <string>
#include <vector>

#include "models/core/core.h"
#include "models/core/program.h"

namespace systole {

std::string ChromeTraceJson(const Program& program, const CoreRunResult& result);
// Several cores (one process per core); slices index engines of their own core.
std::string ChromeTraceJson(const std::vector<Program>& programs,
                            const std::vector<CoreRunResult>& results);

}  // namespace systole
