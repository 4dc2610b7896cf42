#include "sim/trace/chrome_trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace systole {

std::string ChromeTraceJson(const Program& program, const CoreRunResult& result) {
  std::string out;
  out.reserve(128 + result.slices.size() * 120);
  out += "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  out += fmt::format(R"({{"name":"process_name","ph":"M","pid":0,"args":{{"name":{}}}}})",
                     nlohmann::json(program.kernel_name).dump());
  for (std::size_t e = 0; e < result.engines.size(); ++e) {
    out += fmt::format(
        ",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,\"tid\":{},\"args\":{{\"name\":"
        "\"{}\"}}}}",
        e, result.engines[e].name);
    out += fmt::format(
        ",\n{{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":0,\"tid\":{},\"args\":{{"
        "\"sort_index\":{}}}}}",
        e, e);
  }
  // Escape each label once.
  std::vector<std::string> names;
  names.reserve(program.names.size());
  for (const std::string& n : program.names) names.push_back(nlohmann::json(n).dump());
  for (const TraceSlice& s : result.slices) {
    const Instruction& in = program.instructions[s.instr];
    out += fmt::format(
        ",\n{{\"name\":{},\"cat\":\"{}\",\"ph\":\"X\",\"pid\":0,\"tid\":{},\"ts\":{:.3f},"
        "\"dur\":{:.3f},\"args\":{{\"id\":{}}}}}",
        names[in.name], OpcodeName(in.op), s.engine, s.start_ns / 1000.0,
        std::max(0.0, s.end_ns - s.start_ns) / 1000.0, s.instr);
  }
  out += "\n]}\n";
  return out;
}

}  // namespace systole
