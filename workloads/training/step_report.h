// Human and machine-readable views of a TrainingStep (no timing: FLOPs, bytes, memory).
//
// FormatTrainingStepSummary: a dozen lines a person reads in ten seconds: the workload,
// tokens per step, one row per phase (repeats, ops, GFLOP per repeat, matmul share,
// bytes), the step total, and the memory footprint. TrainingStepToJson: the same figures
// as JSON (units in the key names), optionally with one row per op and phase, for
// report.json / ops.csv writers.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "workloads/training/training_step.h"

namespace systole {

std::string FormatTrainingStepSummary(const TrainingStep& step);
// The footprint's parts and total, in bytes (keys end in _bytes).
nlohmann::ordered_json FootprintToJson(const Footprint& f);
nlohmann::json TrainingStepToJson(const TrainingStep& step, bool with_ops);

}  // namespace systole
