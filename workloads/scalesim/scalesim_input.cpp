#include "workloads/scalesim/scalesim_input.h"

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "base/checked_math.h"
#include "base/error.h"

namespace systole::scalesim {

namespace {

std::string Trim(const std::string& s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string Lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string ReadWholeFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(Where(path, 0) + ": cannot open " + what + " (missing or unreadable)");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(Where(path, 0) + ": cannot read " + what);
  return ss.str();
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::string cur;
  for (char ch : text) {
    if (ch == '\n') {
      lines.push_back(cur);
      cur.clear();
    } else if (ch != '\r') {
      cur.push_back(ch);
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(ch);
    }
  }
  out.push_back(cur);
  return out;
}

// Parses a decimal integer the way Python's int() reads plain numbers (surrounding spaces,
// optional sign). Returns false when the text is not such a number or does not fit.
bool ParseInt(const std::string& raw, std::int64_t* out) {
  const std::string s = Trim(raw);
  std::size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    neg = s[i] == '-';
    ++i;
  }
  if (i >= s.size()) return false;
  unsigned __int128 v = 0;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
    if (v > static_cast<unsigned __int128>(INT64_MAX)) return false;
  }
  *out = neg ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
  return true;
}

std::uint64_t ParseCount(const std::string& raw, const std::string& where, const std::string& field,
                         std::int64_t min_value) {
  std::int64_t v = 0;
  if (!ParseInt(raw, &v)) {
    throw InputError(where + ": " + field + ": expected an integer >= " +
                     std::to_string(min_value) + ", got '" + Trim(raw) + "'");
  }
  if (v < min_value) {
    throw InputError(where + ": " + field + ": expected an integer >= " +
                     std::to_string(min_value) + ", got " + std::to_string(v));
  }
  return static_cast<std::uint64_t>(v);
}

struct IniValue {
  std::string value;
  std::int64_t line = 0;
};
using IniSection = std::map<std::string, IniValue>;  // lower-case key -> value

}  // namespace

Config ParseConfigFile(const std::string& path) {
  return ParseConfigText(ReadWholeFile(path, "SCALE-Sim config file"), path);
}

Config ParseConfigText(const std::string& text, const std::string& path) {
  std::map<std::string, IniSection> sections;
  std::map<std::string, std::int64_t> section_lines;
  IniSection* current = nullptr;
  std::string current_name;
  const std::vector<std::string> lines = SplitLines(text);
  for (std::size_t idx = 0; idx < lines.size(); ++idx) {
    const std::int64_t lineno = static_cast<std::int64_t>(idx) + 1;
    const std::string& raw = lines[idx];
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (std::isspace(static_cast<unsigned char>(raw[0])) && current != nullptr &&
        !current->empty()) {
      throw InputError(Where(path, lineno) +
                       ": indented line (an INI continuation line) is not supported; expected "
                       "'key: value' at the start of the line");
    }
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        throw InputError(Where(path, lineno) + ": malformed section header '" + line +
                         "': expected [name]");
      }
      current_name = line.substr(1, line.size() - 2);
      if (sections.count(current_name)) {
        throw InputError(Where(path, lineno) + ": section [" + current_name +
                         "] appears twice (first at line " +
                         std::to_string(section_lines[current_name]) + ")");
      }
      current = &sections[current_name];
      section_lines[current_name] = lineno;
      continue;
    }
    const std::size_t sep = line.find_first_of("=:");
    if (sep == std::string::npos) {
      throw InputError(Where(path, lineno) + ": expected 'key: value' or 'key = value', got '" +
                       line + "'");
    }
    if (current == nullptr) {
      throw InputError(Where(path, lineno) + ": key before any [section] header");
    }
    const std::string key = Lower(Trim(line.substr(0, sep)));
    if (key.empty()) throw InputError(Where(path, lineno) + ": empty key name");
    if (current->count(key)) {
      throw InputError(Where(path, lineno) + ": key '" + key + "' appears twice in [" +
                       current_name + "] (first at line " + std::to_string((*current)[key].line) +
                       ")");
    }
    (*current)[key] = IniValue{Trim(line.substr(sep + 1)), lineno};
  }

  auto get = [&](const std::string& section, const std::string& key) -> const IniValue& {
    auto s = sections.find(section);
    if (s == sections.end()) {
      throw InputError(Where(path, 0) + ": missing section [" + section + "] (needed for key " +
                       key + ")");
    }
    auto k = s->second.find(Lower(key));
    if (k == s->second.end()) {
      throw InputError(Where(path, 0) + ": missing key '" + key + "' in section [" + section + "]");
    }
    return k->second;
  };
  auto count = [&](const std::string& section, const std::string& key, std::int64_t min_value) {
    const IniValue& v = get(section, key);
    return ParseCount(v.value, Where(path, v.line), key, min_value);
  };

  Config cfg;
  cfg.run_name = get("general", "run_name").value;
  const IniValue& mode = get("run_presets", "InterfaceBandwidth");
  if (mode.value == "USER") {
    cfg.mode = BandwidthMode::kUser;
  } else if (mode.value == "CALC") {
    cfg.mode = BandwidthMode::kCalc;
  } else {
    throw InputError(Where(path, mode.line) + ": InterfaceBandwidth: expected USER or CALC, got '" +
                     mode.value + "'");
  }
  const std::string arch = "architecture_presets";
  // Arrays up to 65536 x 65536 PEs (as core.tensor.rows/cols); SCALE-Sim has no bound, but
  // larger ones only exhaust memory (issue 14: 10^9 x 10^9 died with bad_alloc).
  auto array_dim = [&](const char* key) {
    const std::uint64_t v = count(arch, key, 1);
    if (v > 65536) {
      throw InputError(Where(path, get(arch, key).line) + ": " + key + " = " + std::to_string(v) +
                       " is invalid: expected an integer in [1, 65536]");
    }
    return v;
  };
  cfg.array_rows = array_dim("ArrayHeight");
  cfg.array_cols = array_dim("ArrayWidth");
  cfg.ifmap_sram_kb = count(arch, "IfmapSramSzkB", 1);
  cfg.filter_sram_kb = count(arch, "FilterSramSzkB", 1);
  cfg.ofmap_sram_kb = count(arch, "OfmapSramSzkB", 1);
  cfg.ifmap_offset = count(arch, "IfmapOffset", 0);
  cfg.filter_offset = count(arch, "FilterOffset", 0);
  cfg.ofmap_offset = count(arch, "OfmapOffset", 0);
  const IniValue& df = get(arch, "Dataflow");
  if (df.value == "os") {
    cfg.dataflow = Dataflow::kOutputStationary;
  } else if (df.value == "ws") {
    cfg.dataflow = Dataflow::kWeightStationary;
  } else if (df.value == "is") {
    cfg.dataflow = Dataflow::kInputStationary;
  } else {
    throw InputError(Where(path, df.line) +
                     ": Dataflow: expected os, ws or is (lower case), got '" + df.value + "'");
  }
  if (cfg.mode == BandwidthMode::kUser) {
    const IniValue& bw = get(arch, "Bandwidth");
    for (const std::string& item : SplitComma(bw.value)) {
      cfg.bandwidths.push_back(ParseCount(item, Where(path, bw.line), "Bandwidth", 1));
    }
  }
  // Sizes in words (1 byte) must stay far below 2^53 (SCALE-Sim keeps cycles in float64).
  for (std::uint64_t kb : {cfg.ifmap_sram_kb, cfg.filter_sram_kb, cfg.ofmap_sram_kb}) {
    if (kb > (std::uint64_t{1} << 40)) {
      throw InputError(Where(path, 0) + ": SRAM size " + std::to_string(kb) +
                       " kB is too large (limit 2^40 kB)");
    }
  }
  return cfg;
}

std::vector<Layer> ParseTopologyFile(const std::string& path, bool gemm_input) {
  return ParseTopologyText(ReadWholeFile(path, "topology file"), gemm_input, path);
}

std::vector<Layer> ParseTopologyText(const std::string& text, bool gemm_input,
                                     const std::string& path) {
  std::vector<Layer> layers;
  const std::vector<std::string> lines = SplitLines(text);
  static const char* kConvFields[] = {"Layer name",    "IFMAP Height", "IFMAP Width",
                                      "Filter Height", "Filter Width", "Channels",
                                      "Num Filter",    "Strides",      "Stride width"};
  for (std::size_t idx = 1; idx < lines.size(); ++idx) {  // line 1 is the header
    const std::int64_t lineno = static_cast<std::int64_t>(idx) + 1;
    const std::string row = Trim(lines[idx]);
    if (row.empty()) continue;
    std::vector<std::string> elems = SplitComma(row);
    elems.pop_back();  // SCALE-Sim: row.split(',')[:-1]
    const std::string where = Where(path, lineno);
    Layer layer;
    if (gemm_input) {
      if (elems.size() < 4) {
        throw InputError(where +
                         ": expected 'Layer, M, N, K,' (4 fields and a trailing comma), got " +
                         std::to_string(elems.size()) + " field(s)");
      }
      layer.name = Trim(elems[0]);
      const std::uint64_t m = ParseCount(elems[1], where, "M", 1);
      const std::uint64_t n = ParseCount(elems[2], where, "N", 1);
      const std::uint64_t k = ParseCount(elems[3], where, "K", 1);
      layer.ifmap_h = m;
      layer.ifmap_w = k;
      layer.filt_h = 1;
      layer.filt_w = k;
      layer.channels = 1;
      layer.num_filt = n;
      layer.stride_h = layer.stride_w = 1;
      layers.push_back(layer);
      continue;
    }
    if (elems.size() < 8) {
      throw InputError(where +
                       ": expected 'name, IFMAP Height, IFMAP Width, Filter Height, Filter "
                       "Width, Channels, Num Filter, Strides,' (8 fields and a trailing "
                       "comma), got " +
                       std::to_string(elems.size()) + " field(s)");
    }
    std::vector<std::uint64_t> v(elems.size(), 0);
    for (std::size_t i = 1; i < elems.size(); ++i) {
      const std::string field = i < 9 ? kConvFields[i] : "field " + std::to_string(i + 1);
      v[i] = ParseCount(elems[i], where, field, i < 9 ? 1 : INT64_MIN);
    }
    layer.name = Trim(elems[0]);
    layer.ifmap_h = v[1];
    layer.ifmap_w = v[2];
    layer.filt_h = v[3];
    layer.filt_w = v[4];
    layer.channels = v[5];
    layer.num_filt = v[6];
    layer.stride_h = v[7];
    layer.stride_w = elems.size() >= 9 ? v[8] : v[7];
    if (layer.filt_h > layer.ifmap_h) {
      throw InputError(where + ": Filter Height " + std::to_string(layer.filt_h) +
                       " is larger than IFMAP Height " + std::to_string(layer.ifmap_h));
    }
    if (layer.filt_w > layer.ifmap_w) {
      throw InputError(where + ": Filter Width " + std::to_string(layer.filt_w) +
                       " is larger than IFMAP Width " + std::to_string(layer.ifmap_w));
    }
    if (layer.name.find("DP") != std::string::npos) {
      // Depthwise: one single-channel layer per channel, as SCALE-Sim splits it.
      const std::uint64_t channels = layer.channels;
      if (channels > 1000000) {
        throw InputError(where + ": depthwise layer with " + std::to_string(channels) +
                         " channels: expected at most 1000000");
      }
      const std::string base = layer.name;
      layer.channels = 1;
      for (std::uint64_t c = 0; c < channels; ++c) {
        layer.name = base + "Channel_" + std::to_string(c);
        layers.push_back(layer);
      }
    } else {
      layers.push_back(layer);
    }
  }
  if (lines.empty()) throw InputError(Where(path, 0) + ": topology file is empty");
  if (layers.empty()) {
    throw InputError(Where(path, 0) + ": topology file has a header but no layer rows");
  }
  for (const Layer& layer : layers) LayerGemm(layer);  // overflow check up front
  return layers;
}

GemmShape LayerGemm(const Layer& layer) {
  GemmShape g;
  g.m = CheckedMul(layer.ofmap_h(), layer.ofmap_w(), "ofmap pixels");
  g.k = CheckedMul(CheckedMul(layer.filt_h, layer.filt_w, "filter window"), layer.channels,
                   "filter window");
  g.n = layer.num_filt;
  CheckedMul(CheckedMul(g.m, g.k, "MAC count"), g.n, "MAC count");
  return g;
}

}  // namespace systole::scalesim
