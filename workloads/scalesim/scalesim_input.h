// SCALE-Sim v2 input files: the .cfg configuration and the topology CSV.
//
// The parsers accept what SCALE-Sim v2 (commit 22f88b1) accepts and reject, with one
// InputError line naming file, line, field and expectation, what it would crash on or
// silently misread:
//   .cfg  INI file read like Python's configparser: sections [general], [architecture_presets],
//         [run_presets]; "key: value" or "key = value"; keys case-insensitive; full-line
//         comments starting with '#' or ';'; duplicate sections/keys are errors.
//         Required: run_name; ArrayHeight, ArrayWidth, IfmapSramSzkB, FilterSramSzkB,
//         OfmapSramSzkB, IfmapOffset, FilterOffset, OfmapOffset, Dataflow (os|ws|is, exact
//         lower case as SCALE-Sim compares it); InterfaceBandwidth (USER|CALC); Bandwidth
//         (comma-separated integers, only read in USER mode, where only the first value is
//         used). Other keys (e.g. MemoryBanks) are ignored, as SCALE-Sim ignores them.
//   conv  "name, ifmap_h, ifmap_w, filt_h, filt_w, channels, num_filt, stride[, stride_w]," :
//         first line is a header, empty lines skipped, the last comma-separated field is
//         dropped (SCALE-Sim's trailing-comma convention). Names containing "DP" are split
//         into `channels` single-channel layers named "<name>Channel_<i>".
//   gemm  "name, M, N, K," (N before K) -> conv row [M, K, 1, K, 1, N, 1, 1].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/tensor_engine/systolic_timing.h"

namespace systole::scalesim {

enum class BandwidthMode { kCalc, kUser };

struct Config {
  std::string run_name;
  std::uint64_t array_rows = 0;  // ArrayHeight
  std::uint64_t array_cols = 0;  // ArrayWidth
  std::uint64_t ifmap_sram_kb = 0;
  std::uint64_t filter_sram_kb = 0;
  std::uint64_t ofmap_sram_kb = 0;
  std::uint64_t ifmap_offset = 0;
  std::uint64_t filter_offset = 0;
  std::uint64_t ofmap_offset = 0;
  Dataflow dataflow = Dataflow::kOutputStationary;
  BandwidthMode mode = BandwidthMode::kCalc;
  std::vector<std::uint64_t> bandwidths;  // USER mode only; [0] is used for every operand
};

Config ParseConfigFile(const std::string& path);
Config ParseConfigText(const std::string& text, const std::string& path_for_errors);

struct Layer {
  std::string name;
  std::uint64_t ifmap_h = 0, ifmap_w = 0;
  std::uint64_t filt_h = 0, filt_w = 0;
  std::uint64_t channels = 0, num_filt = 0;
  std::uint64_t stride_h = 0, stride_w = 0;
  // Derived with SCALE-Sim's rule (no padding, ceil for strides > 1).
  std::uint64_t ofmap_h() const { return (ifmap_h - filt_h + stride_h + stride_h - 1) / stride_h; }
  std::uint64_t ofmap_w() const { return (ifmap_w - filt_w + stride_w + stride_w - 1) / stride_w; }
};

std::vector<Layer> ParseTopologyFile(const std::string& path, bool gemm_input);
std::vector<Layer> ParseTopologyText(const std::string& text, bool gemm_input,
                                     const std::string& path_for_errors);

// GEMM view of a layer: M = ofmap pixels, K = window, N = filters. Throws InputError on
// 64-bit overflow.
GemmShape LayerGemm(const Layer& layer);

}  // namespace systole::scalesim
