#include "sim/trace/chrome_trace.h"

#include <fmt/format.h>

#include <algorithm>
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
  for (std::size_t e = 0; e < result.engines.size(); ++e) {
    out += fmt::format(
        ",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":"
        "\"{}\"}}}}",
        pid, e, result.engines[e].name);
    out += fmt::format(
        ",\n{{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":{},\"tid\":{},\"args\":{{"
        "\"sort_index\":{}}}}}",
        pid, e, e);
  }
  // Escape each label once.
  std::vector<std::string> names;
  names.reserve(program.names.size());
  for (const std::string& n : program.names) names.push_back(nlohmann::json(n).dump());
  for (const TraceSlice& s : result.slices) {
    const Instruction& in = program.instructions[s.instr];
    out += fmt::format(
        ",\n{{\"name\":{},\"cat\":\"{}\",\"ph\":\"X\",\"pid\":{},\"tid\":{},\"ts\":{:.3f},"
        "\"dur\":{:.3f},\"args\":{{\"id\":{}}}}}",
        names[in.name], OpcodeName(in.op), pid, s.engine, s.start_ns / 1000.0,
        std::max(0.0, s.end_ns - s.start_ns) / 1000.0, s.instr);
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
