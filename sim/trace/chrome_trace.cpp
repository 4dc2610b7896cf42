#include "sim/trace/chrome_trace.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace systole {

std::string ChromeTraceJson(const Program& program, const CoreRunResult& result) {
  return ChromeTraceJson(std::vector<Program>{program}, std::vector<CoreRunResult>{result});
}

namespace {

void AppendCore(std::string& out, int pid, const std::string& process, const Program& program,
                const CoreRunResult& result) {
  out += fmt::format(R"({{"name":"process_name","ph":"M","pid":{},"args":{{"name":{}}}}})", pid,
                     nlohmann::json(process).dump());
  // Times in whole nanoseconds (what the viewers keep), rounded once, so that a slice
  // ending when the next starts does not overlap it after rounding.
  const std::size_t n = result.slices.size();
  std::vector<long long> start(n), end(n), busy_end(n);
  for (std::size_t i = 0; i < n; ++i) {
    const TraceSlice& s = result.slices[i];
    start[i] = std::llround(s.start_ns);
    end[i] = std::max(start[i], std::llround(s.end_ns));
    busy_end[i] = std::max(start[i], std::llround(s.occupancy_end_ns));
  }
  // Rows: each slice goes to its engine's first row that is free at its issue (slices of
  // one engine come in issue order), so no two slices of a row overlap.
  const std::size_t engines = result.engines.size();
  std::vector<std::vector<long long>> row_end(engines);  // per engine, per row: last end
  std::vector<std::uint32_t> row_of(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<long long>& rows = row_end.at(result.slices[i].engine);
    std::size_t r = 0;
    while (r < rows.size() && rows[r] > start[i]) ++r;
    if (r == rows.size()) rows.push_back(0);
    rows[r] = end[i];
    row_of[i] = static_cast<std::uint32_t>(r);
  }
  // Thread ids: row 0 of engine e is e; further rows follow all engines, engine by engine.
  std::vector<std::size_t> first_extra(engines, 0);
  std::size_t next_tid = engines;
  for (std::size_t e = 0; e < engines; ++e) {
    first_extra[e] = next_tid;
    if (!row_end[e].empty()) next_tid += row_end[e].size() - 1;
  }
  auto tid_of = [&](std::size_t e, std::size_t row) {
    return row == 0 ? e : first_extra[e] + row - 1;
  };
  std::size_t sort_index = 0;
  for (std::size_t e = 0; e < engines; ++e) {
    const std::size_t rows = std::max<std::size_t>(1, row_end[e].size());
    for (std::size_t row = 0; row < rows; ++row) {
      const std::string name =
          row == 0 ? result.engines[e].name : fmt::format("{} +{}", result.engines[e].name, row);
      out += fmt::format(
          ",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{},\"tid\":{},\"args\":{{"
          "\"name\":\"{}\"}}}}",
          pid, tid_of(e, row), name);
      out += fmt::format(
          ",\n{{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":{},\"tid\":{},\"args\":{{"
          "\"sort_index\":{}}}}}",
          pid, tid_of(e, row), sort_index++);
    }
  }
  // Escape each label once.
  std::vector<std::string> names;
  names.reserve(program.names.size());
  for (const std::string& label : program.names) names.push_back(nlohmann::json(label).dump());
  for (std::size_t i = 0; i < n; ++i) {
    const TraceSlice& s = result.slices[i];
    const Instruction& in = program.instructions[s.instr];
    out += fmt::format(
        ",\n{{\"name\":{},\"cat\":\"{}\",\"ph\":\"X\",\"pid\":{},\"tid\":{},\"ts\":{:.3f},"
        "\"dur\":{:.3f},\"args\":{{\"id\":{},\"busy_us\":{:.3f},\"waits\":[{}]}}}}",
        names[in.name], OpcodeName(in.op), pid, tid_of(s.engine, row_of[i]),
        static_cast<double>(start[i]) / 1000.0, static_cast<double>(end[i] - start[i]) / 1000.0,
        s.instr, static_cast<double>(busy_end[i] - start[i]) / 1000.0, fmt::join(in.waits, ","));
  }
}

}  // namespace

std::string ChromeTraceJson(const std::vector<Program>& programs,
                            const std::vector<CoreRunResult>& results) {
  std::string out;
  std::size_t slices = 0;
  for (const CoreRunResult& r : results) slices += r.slices.size();
  out.reserve(256 + slices * 120);
  out += "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  for (std::size_t c = 0; c < programs.size(); ++c) {
    if (c > 0) out += ",\n";
    const std::string process = programs.size() == 1
                                    ? programs[c].kernel_name
                                    : "core" + std::to_string(c) + " " + programs[c].kernel_name;
    AppendCore(out, static_cast<int>(c), process, programs[c], results[c]);
  }
  out += "\n]}\n";
  return out;
}

}  // namespace systole
