// report.html: the result of `systole run` as one self-contained web page.
//
// The page is built from the same data as report.json and ops.csv (sim/step_run.h): the
// report.json text is embedded whole, and one row per op (the columns of ops.csv that the
// charts use). Nothing on the page is fetched: Chart.js (third_party/chartjs, embedded in the
// binary, sim/report/chartjs_asset.h) and the data are inlined, so the file can be mailed or
// opened offline. Same inputs give a byte-identical page (no dates, no random ids).
//
// What the page shows
//   - summary: workload, chip, step time, tokens/s, MFU, HFU, HBM traffic, footprint, and every
//     other number report.json holds (energy, cost, ... when a run reports them), each with
//     the unit its key names (_ns, _bytes, _pj, ...);
//   - time by phase (forward, backward, optimizer, per step) and by op kind, and the top 20
//     ops by time per step (an op's time x its repeats), coloured by phase;
//   - a roofline: each op that reads or writes HBM at its arithmetic intensity (FLOPs / HBM
//     bytes) and achieved rate (FLOPs / time), log-log, under the chip's compute roof (peak
//     matmul FLOP/s of all cores) and HBM roof (peak bandwidth x intensity);
//   - the HBM footprint by part (weights, gradients, master weights, optimizer states,
//     saved activations, workspace) against the capacity;
//   - engine use: the share of the step on the tensor engine (matmul ops) and on the
//     vector/scalar/DMA side (the other ops), and the op timeline of one micro-batch's
//     forward and backward and of the optimizer, on those two tracks (as in trace.json).
//
// Test hook: when the page's script has drawn every chart, it writes a JSON summary read back
// from the charts (points per chart, sums of their values) into <pre id="systole-check">,
// with "status": "ok"; a script error writes "status": "error" and the messages instead.
// Headless Chromium's --dump-dom shows it (tests/sim/report/html_report_test.cpp).
#pragma once

#include <string>

#include "models/chip/arch_config.h"
#include "sim/step_run.h"
#include "workloads/training/training_step.h"

namespace systole {

// report_json: the text StepReportJson() gave for this run (report.json).
std::string StepReportHtml(const ArchConfig& arch, const TrainingStep& step,
                           const StepReport& report, const std::string& report_json);

}  // namespace systole
