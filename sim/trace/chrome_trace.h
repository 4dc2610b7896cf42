// Chrome trace event format (opens in Perfetto / chrome://tracing) for a core run: one
// track (thread) per engine and DMA queue, one complete ("X") slice per instruction named
// by the kernel's label, from issue to completion. An engine with several instructions in
// flight at once (the pipelined tensor engine, a DMA queue) gets extra rows, "dma3 +1",
// "dma3 +2", ...: each slice goes to the engine's first row free at its issue, so slices
// of a row never overlap (Perfetto needs slices of a track to nest). Each slice's args
// give its instruction id, the time it kept the engine busy (busy_us) and the ids it
// waited for (waits). Timestamps are microseconds with nanosecond resolution (each time rounded
// once); the output is deterministic.
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
