// Writes an output file so that a failure never leaves it half-written: the content goes
// to "<path>.tmp.<pid>" and is renamed over <path> only after it was fully written and
// flushed. Throws InputError (naming the path) when the directory is not writable.
#pragma once

#include <string>

namespace systole {

void WriteFileAtomically(const std::string& path, const std::string& content);

}  // namespace systole
