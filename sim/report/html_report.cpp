#include "sim/report/html_report.h"

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "sim/report/chartjs_asset.h"
#include "sim/report/report_page_asset.h"

namespace systole {

namespace {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// JSON text safe inside <script type="application/json">: '<' only occurs inside strings
// (op names may hold "</script>"), where "\u003c" means the same character.
std::string ScriptSafeJson(const nlohmann::ordered_json& j) {
  const std::string text = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

// The columns of ops.csv the page charts, as arrays (one entry per row, same order).
nlohmann::ordered_json OpColumns(const TrainingStep& step, const StepReport& report) {
  nlohmann::ordered_json name = nlohmann::ordered_json::array(),
                         phase = nlohmann::ordered_json::array(),
                         role = nlohmann::ordered_json::array(),
                         kind = nlohmann::ordered_json::array(),
                         engine = nlohmann::ordered_json::array(),
                         repeats = nlohmann::ordered_json::array(),
                         time_ns = nlohmann::ordered_json::array(),
                         flops = nlohmann::ordered_json::array(),
                         matmul_flops = nlohmann::ordered_json::array(),
                         hbm_bytes = nlohmann::ordered_json::array(),
                         bound = nlohmann::ordered_json::array();
  for (const OpReport& o : report.ops) {
    const GraphOp& op = step.graph.op(o.op);
    name.push_back(op.name);
    phase.push_back(PhaseName(o.phase));
    role.push_back(OpRoleName(op.role));
    kind.push_back(OpKindName(op.kind));
    // The tracks of trace.json (StepTraceJson): matmuls on the tensor engine.
    engine.push_back(op.is_matmul() ? "tensor" : "vector");
    repeats.push_back(o.repeats);
    time_ns.push_back(o.time_ns);
    flops.push_back(o.flops);
    matmul_flops.push_back(o.matmul_flops);
    hbm_bytes.push_back(o.bytes);
    bound.push_back(op.fused() ? "fused" : o.compute_bound ? "compute" : "memory");
  }
  nlohmann::ordered_json cols;
  cols["name"] = std::move(name);
  cols["phase"] = std::move(phase);
  cols["role"] = std::move(role);
  cols["kind"] = std::move(kind);
  cols["engine"] = std::move(engine);
  cols["repeats"] = std::move(repeats);
  cols["time_ns"] = std::move(time_ns);
  cols["flops"] = std::move(flops);
  cols["matmul_flops"] = std::move(matmul_flops);
  cols["hbm_bytes"] = std::move(hbm_bytes);
  cols["bound"] = std::move(bound);
  return cols;
}

}  // namespace

std::string StepReportHtml(const ArchConfig& arch, const TrainingStep& step,
                           const StepReport& report, const std::string& report_json) {
  nlohmann::ordered_json data;
  data["report"] = nlohmann::ordered_json::parse(report_json);
  data["hbm_gbps"] = arch.hbm.PeakGBps();
  data["samples_per_step"] = step.samples_per_step;
  data["micro_batches"] = step.phases.empty() ? 1 : step.phases[0].repeats;
  data["ops"] = OpColumns(step, report);

  const std::string_view chartjs = ChartJsSource();
  // An inline script ends at the first "</script" whatever it is inside of; the vendored
  // file has none (a test checks), so this only guards a future update of it.
  if (chartjs.find("</script") != std::string_view::npos) {
    throw std::logic_error("third_party/chartjs holds \"</script\": cannot inline it");
  }
  const std::string title =
      HtmlEscape(step.config.model.name + " training step on " + arch.name + " - Systole");
  const std::string json = ScriptSafeJson(data);

  // Fill the markers of the template in one pass (the inserted text is never scanned).
  const std::string_view page = ReportPageTemplate();
  std::string out;
  out.reserve(page.size() + chartjs.size() + json.size());
  std::size_t pos = 0;
  while (true) {
    const std::size_t at = page.find('@', pos);
    if (at == std::string_view::npos) break;
    auto marker = [&](std::string_view m) { return page.compare(at, m.size(), m) == 0; };
    out.append(page.substr(pos, at - pos));
    if (marker("@TITLE@")) {
      out += title;
      pos = at + 7;
    } else if (marker("@DATA@")) {
      out += json;
      pos = at + 6;
    } else if (marker("@CHARTJS@")) {
      out.append(chartjs);
      pos = at + 9;
    } else {
      out += '@';
      pos = at + 1;
    }
  }
  out.append(page.substr(pos));
  return out;
}

}  // namespace systole
