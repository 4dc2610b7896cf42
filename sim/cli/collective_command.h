// `systole collective KIND --bytes N --ranks P [--stride S] [--algo A] [--arch FILE]
// [-p key=value] [--json]`: times one collective alone on the architecture's [system]
// (workloads/collective/collective.h) and prints the breakdown.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace systole {

struct ArchConfig;
struct CollectiveCall;
struct CollectiveResult;

void RegisterCollectiveCommand(CLI::App& app, std::function<int()>& action);

// The text summary and the JSON document of one timed collective (deterministic).
std::string FormatCollectiveSummary(const ArchConfig& arch, const CollectiveCall& call,
                                    const CollectiveResult& result);
std::string CollectiveJson(const ArchConfig& arch, const CollectiveCall& call,
                           const CollectiveResult& result);

// "1e9", "1000000000", "4GiB", "512MB": an exact whole number of bytes; InputError naming
// `key` otherwise (zero is accepted here and rejected by TimeCollective).
std::uint64_t ParseByteCount(const std::string& text, const std::string& key);

}  // namespace systole
